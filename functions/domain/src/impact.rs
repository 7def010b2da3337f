//! The confirm step (OK / Give Up) before the license password is asked: what a request would
//! do to the caller's website (`consequences`). Reads only.

use crate::consequences::{consequences, Impact};
use crate::error::ServiceError;
use crate::ports::Filings;
use crate::records::load_own_website;
use crate::validation::parse_request_type;
use crate::{Caller, WebsiteStatus};

/// The impact preview: its port.
pub struct ImpactPreview<'a, S> {
    pub store: &'a S,
}

impl<S: Filings> ImpactPreview<'_, S> {
    /// What a request of `request_type` would do to the caller's website. Reads only.
    pub async fn impact(
        &self,
        caller: &Caller,
        website_id: &str,
        request_type: &str,
    ) -> Result<Impact, ServiceError> {
        let request_type = parse_request_type(request_type)?;
        let website = load_own_website(self.store, caller, website_id).await?;
        let others = self
            .store
            .list_websites(&website.entity_id)
            .await?
            .into_iter()
            .filter(|w| w.status == WebsiteStatus::Active && w.website_id != website.website_id)
            .count();
        Ok(Impact {
            website_id: website.website_id.clone(),
            request_type,
            last_website: others == 0,
            consequences: consequences(request_type, &website, others == 0),
        })
    }
}
