//! What customers and reviewers read: websites with their open request, requests, the review
//! queue. Each record only to its owner (or a reviewer).

use crate::error::{DomainError, ServiceError};
use crate::ports::{Ports, Store};
use crate::records::load;
use crate::{Caller, Request, RequestType, Status, Website, WebsiteStatus};

/// A website as its owner sees it, with its open request if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteView {
    #[serde(flatten)]
    pub website: Website,
    pub open_request: Option<OpenRequestSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenRequestSummary {
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: Status,
}

impl<S: Store, N, V, W, A> Ports<S, N, V, W, A> {
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
        let entity_id = caller.entity_id()?;
        let website = self
            .store
            .get_website(website_id)
            .await?
            .filter(|w| w.status == WebsiteStatus::Active)
            .ok_or_else(|| DomainError::WebsiteNotFound(website_id.into()))?;
        if website.entity_id != entity_id {
            return Err(ServiceError::Forbidden);
        }
        self.view(website).await
    }

    /// A request, to its owner or to a reviewer.
    pub async fn get_request(
        &self,
        caller: &Caller,
        request_id: &str,
    ) -> Result<Request, ServiceError> {
        let request = load(&self.store, request_id).await?;
        match caller {
            Caller::Reviewer { .. } | Caller::Operator { .. } => Ok(request),
            Caller::Customer { entity_id } if *entity_id == request.entity_id => {
                Ok(request.seen_by(caller))
            }
            Caller::Customer { .. } => Err(ServiceError::Forbidden),
        }
    }

    /// The caller's requests, newest first: on one website, or on all of them.
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
            requests.extend(on_website.into_iter().map(|r| r.seen_by(caller)));
        }
        requests.sort_by(|a, b| (b.created_at, &b.request_id).cmp(&(a.created_at, &a.request_id)));
        Ok(requests)
    }

    /// Requests awaiting first review, oldest first: reviewers only.
    pub async fn pending_reviews(&self, caller: &Caller) -> Result<Vec<Request>, ServiceError> {
        match caller {
            Caller::Reviewer { .. } => Ok(self
                .store
                .requests_in_status(Status::PendingFirstReview)
                .await?),
            Caller::Customer { .. } | Caller::Operator { .. } => Err(ServiceError::Forbidden),
        }
    }
}
