//! What customers and reviewers read: websites with their open request, requests, the review
//! queue. Each record only to its owner (or a reviewer).

use crate::error::{DomainError, ServiceError};
use crate::ports::{Filings, QueuePosition, Requests, ReviewQueue};
use crate::records::{load, load_own_website};
use crate::{Caller, Request, RequestType, Status, Website, WebsiteStatus};
use base64::Engine as _;

/// A website as its owner sees it, with its open request if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteView {
    #[serde(flatten)]
    pub website: Website,
    pub open_request: Option<OpenRequestSummary>,
}

/// The website a request is about, as it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteAsItStands {
    pub domain: String,
    pub website_license_number: String,
    pub service_ips: Vec<String>,
}

impl WebsiteAsItStands {
    /// The website as the request was submitted on, if it must still stand so: a request holds
    /// its website while open (an import never changes it, and the request's own effect comes
    /// with its close). A request reopened by an operator may have left it free meanwhile.
    fn while_open(request: &Request) -> Option<WebsiteAsItStands> {
        let reopened = request
            .history
            .iter()
            .any(|entry| matches!(entry.event, Some(crate::HistoryEvent::Redriven)));
        if !request.status.is_open() || reopened {
            return None;
        }
        let subject = &request.subject;
        Some(WebsiteAsItStands {
            domain: subject.domain.clone(),
            website_license_number: subject.website_license_number.clone(),
            service_ips: subject.website_service_ips.clone()?,
        })
    }
}

impl From<Website> for WebsiteAsItStands {
    fn from(website: Website) -> Self {
        WebsiteAsItStands {
            domain: website.domain,
            website_license_number: website.website_license_number,
            service_ips: website.service_ips,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenRequestSummary {
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: Status,
}

/// What customers and reviewers read: its port.
pub struct Queries<'a, S> {
    pub store: &'a S,
}

impl<S: Filings + Requests + ReviewQueue> Queries<'_, S> {
    async fn view(&self, website: Website) -> Result<WebsiteView, ServiceError> {
        let open_request = match &website.open_request_id {
            Some(id) => self
                .store
                .get_request(id)
                .await?
                .map(|r| OpenRequestSummary {
                    request_id: r.request_id,
                    request_type: r.request_type,
                    status: r.status,
                }),
            None => None,
        };
        Ok(WebsiteView {
            website,
            open_request,
        })
    }

    /// The caller's websites still in the license system.
    pub async fn list_websites(&self, caller: &Caller) -> Result<Vec<WebsiteView>, ServiceError> {
        let mut views = Vec::new();
        for website in self.store.list_websites(caller.entity_id()?).await? {
            if website.status == WebsiteStatus::Active {
                views.push(self.view(website).await?);
            }
        }
        Ok(views)
    }

    /// One of the caller's websites; a cleared website is gone (404).
    pub async fn get_website(
        &self,
        caller: &Caller,
        website_id: &str,
    ) -> Result<WebsiteView, ServiceError> {
        let website = load_own_website(self.store, caller, website_id).await?;
        self.view(website).await
    }

    /// A request, to its owner or to a reviewer.
    pub async fn get_request(
        &self,
        caller: &Caller,
        request_id: &str,
    ) -> Result<Request, ServiceError> {
        let request = load(self.store, request_id).await?;
        match caller {
            Caller::Reviewer { .. } | Caller::Operator { .. } => Ok(request),
            Caller::Customer { entity_id } if *entity_id == request.entity_id => {
                Ok(request.seen_by(caller))
            }
            Caller::Customer { .. } => Err(ServiceError::Forbidden),
        }
    }

    /// A request with its website as it stands now (the reviewer compares the service IPs in
    /// force with the requested ones), to its owner or to a reviewer.
    pub async fn get_request_with_website(
        &self,
        caller: &Caller,
        request_id: &str,
    ) -> Result<(Request, Option<WebsiteAsItStands>), ServiceError> {
        let request = self.get_request(caller, request_id).await?;
        if let Some(website) = WebsiteAsItStands::while_open(&request) {
            return Ok((request, Some(website)));
        }
        let website = self.store.get_website(&request.website_id).await?;
        Ok((request, website.map(WebsiteAsItStands::from)))
    }

    /// The caller's requests, newest first: on one website, or on all of them. Only the
    /// entity's own: an import may have moved a website from another entity, whose requests on
    /// it stay that entity's.
    pub async fn list_requests(
        &self,
        caller: &Caller,
        website_id: Option<&str>,
    ) -> Result<Vec<Request>, ServiceError> {
        let entity_id = caller.entity_id()?;
        let website_ids = match website_id {
            Some(id) => {
                let website = self
                    .store
                    .get_website(id)
                    .await?
                    .ok_or_else(|| DomainError::WebsiteNotFound(id.into()))?;
                if website.entity_id != entity_id {
                    return Err(ServiceError::Forbidden);
                }
                vec![website.website_id]
            }
            None => self
                .store
                .list_websites(entity_id)
                .await?
                .into_iter()
                .map(|w| w.website_id)
                .collect(),
        };
        let mut requests = Vec::new();
        for id in website_ids {
            let on_website = self.store.list_requests(&id).await?;
            requests.extend(
                on_website
                    .into_iter()
                    .filter(|r| r.entity_id == entity_id)
                    .map(|r| r.seen_by(caller)),
            );
        }
        requests.sort_by(|a, b| (b.created_at, &b.request_id).cmp(&(a.created_at, &a.request_id)));
        Ok(requests)
    }

    /// One page of the requests awaiting first review, soonest due first: reviewers only. `limit`
    /// and `next_token` are the query's, as given (`next_token` from the previous page).
    pub async fn pending_reviews(
        &self,
        caller: &Caller,
        limit: Option<&str>,
        next_token: Option<&str>,
    ) -> Result<ReviewPage, ServiceError> {
        if !matches!(caller, Caller::Reviewer { .. }) {
            return Err(ServiceError::Forbidden);
        }
        let limit = review_page_limit(limit)?;
        let after = next_token.map(QueueToken::decode).transpose()?;
        let (reviews, last) = self.store.review_queue(limit, after.as_ref()).await?;
        Ok(ReviewPage {
            reviews,
            next_token: last.as_ref().map(QueueToken::encode),
        })
    }
}

/// A page of the review queue and the token of the next one, if any.
#[derive(Debug)]
pub struct ReviewPage {
    pub reviews: Vec<Request>,
    pub next_token: Option<String>,
}

pub const REVIEW_PAGE_DEFAULT: usize = 50;
pub const REVIEW_PAGE_MAX: usize = 100;

fn review_page_limit(limit: Option<&str>) -> Result<usize, DomainError> {
    let Some(text) = limit else {
        return Ok(REVIEW_PAGE_DEFAULT);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=REVIEW_PAGE_MAX).contains(&n) => Ok(n),
        _ => Err(DomainError::validation(
            "invalid_limit",
            format!("limit 须为 1 至 {REVIEW_PAGE_MAX} 的整数"),
            format!("limit must be a whole number from 1 to {REVIEW_PAGE_MAX}"),
        )),
    }
}

/// The `nextToken` a client hands back: a queue position, base64url-encoded JSON. Opaque to
/// clients; anything else is refused before it reaches the store.
struct QueueToken;

impl QueueToken {
    fn encode(position: &QueuePosition) -> String {
        let json = serde_json::to_vec(position).expect("a position serialises");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(token: &str) -> Result<QueuePosition, DomainError> {
        let invalid = || {
            DomainError::validation(
                "invalid_next_token",
                "nextToken 须为本列表上一页给出的值",
                "nextToken must be one a previous page of this listing gave",
            )
        };
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid())?;
        let position: QueuePosition = serde_json::from_slice(&json).map_err(|_| invalid())?;
        let id = &position.request_id;
        if id.is_empty()
            || id.len() > 64
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(invalid());
        }
        Ok(position)
    }
}
