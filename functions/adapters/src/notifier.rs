//! SMS through SNS and email through SES.

use aws_config::SdkConfig;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use icp_domain::error::NotifyError;
use icp_domain::notification::Letterhead;
use icp_domain::ports::Notifier;

pub struct SnsSesNotifier {
    sns: aws_sdk_sns::Client,
    ses: aws_sdk_ses::Client,
    sender: String,
    sms_signature: String,
    resubmit_within: chrono::Duration,
    /// Made at the first message, not at cold start: an HTTP function learns its API's id
    /// from its first request (`authority::observe_api_id`).
    letterhead: std::sync::OnceLock<Letterhead>,
}

impl SnsSesNotifier {
    /// From `SENDER_EMAIL`, `SMS_SIGNATURE`, `REJECTED_EXPIRY_SECONDS` (by when a rejection's
    /// messages ask for "Modify and Submit"), and the API's base URL (`API_BASE_URL`, `API_ID`),
    /// which serves the console the messages link to.
    pub fn from_env(config: &SdkConfig) -> Result<SnsSesNotifier, crate::Error> {
        crate::authority::api_base_url()?;
        Ok(SnsSesNotifier {
            sns: aws_sdk_sns::Client::new(config),
            ses: aws_sdk_ses::Client::new(config),
            sender: crate::aws::env("SENDER_EMAIL")?,
            sms_signature: crate::aws::env("SMS_SIGNATURE")?,
            resubmit_within: chrono::Duration::seconds(
                crate::aws::deadline_config()?.rejected_expiry_seconds,
            ),
            letterhead: std::sync::OnceLock::new(),
        })
    }
}

fn utf8(text: &str) -> Result<Content, NotifyError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| NotifyError(e.to_string()))
}

impl Notifier for SnsSesNotifier {
    fn letterhead(&self) -> &Letterhead {
        self.letterhead.get_or_init(|| Letterhead {
            sms_signature: self.sms_signature.clone(),
            resubmit_within: self.resubmit_within,
            // API_BASE_URL was read at cold start (from_env fails without it).
            console_url: format!(
                "{}/console/index.html",
                crate::authority::api_base_url().unwrap_or_default()
            ),
        })
    }

    async fn send_sms(&self, phone: &str, text: &str) -> Result<(), NotifyError> {
        self.sns
            .publish()
            .phone_number(phone)
            .message(text)
            .send()
            .await
            .map_err(|e| NotifyError(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }

    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError> {
        let message = Message::builder()
            .subject(utf8(subject)?)
            .body(Body::builder().text(utf8(body)?).build())
            .build();
        self.ses
            .send_email()
            .source(&self.sender)
            .destination(Destination::builder().to_addresses(to).build())
            .message(message)
            .send()
            .await
            .map_err(|e| NotifyError(aws_sdk_ses::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

/// The reviewers' addresses, from the comma-separated `REVIEWER_EMAILS`.
pub fn reviewer_emails() -> Vec<String> {
    std::env::var("REVIEWER_EMAILS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
