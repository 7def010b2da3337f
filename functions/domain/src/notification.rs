//! What customers and reviewers are told, in Chinese and English, at each step.

use crate::calendar::for_people;
use crate::language::Language;
use crate::reason;
use crate::{Entity, Request, RequestType, Website};
use chrono::{DateTime, Utc};

/// The moments the contract names, plus expiry and failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Submitted,
    PasswordRejected,
    FirstReviewRejected,
    ForwardedToAuthority,
    AuthorityApproved,
    AuthorityRejected,
    Completed,
    ExpiryReminder,
    Expired,
    Failed,
}

impl Event {
    /// A stable name, used to record each notification once.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Submitted => "submitted",
            Event::PasswordRejected => "password_rejected",
            Event::FirstReviewRejected => "first_review_rejected",
            Event::ForwardedToAuthority => "forwarded_to_authority",
            Event::AuthorityApproved => "authority_approved",
            Event::AuthorityRejected => "authority_rejected",
            Event::Completed => "completed",
            Event::ExpiryReminder => "expiry_reminder",
            Event::Expired => "expired",
            Event::Failed => "failed",
        }
    }
}

impl Event {
    /// The status this event announces; a reminder announces none of its own.
    pub fn status(self) -> Option<crate::Status> {
        use crate::Status;
        match self {
            Event::Submitted => Some(Status::Submitted),
            Event::PasswordRejected => Some(Status::PasswordRejected),
            Event::FirstReviewRejected => Some(Status::FirstReviewRejected),
            Event::ForwardedToAuthority => Some(Status::ForwardedToAuthority),
            Event::AuthorityApproved => Some(Status::Approved),
            Event::AuthorityRejected => Some(Status::AuthorityRejected),
            Event::Completed => Some(Status::Completed),
            Event::ExpiryReminder => None,
            Event::Expired => Some(Status::Expired),
            Event::Failed => Some(Status::Failed),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub sms: String,
    pub subject: String,
    pub body: String,
}

fn type_names(t: RequestType) -> (&'static str, &'static str) {
    match t {
        RequestType::WebsiteCancellation => ("注销网站", "Website cancellation"),
        RequestType::AccessCancellation => ("取消接入", "Access cancellation"),
        RequestType::AccessChange => ("变更接入", "Access change"),
    }
}

/// (Chinese, English) sentences on what happened and what comes next.
fn event_text(event: Event, request: &Request) -> (String, String) {
    let reasons = |language| reason::texts(&request.rejection_reasons, language).join("; ");
    let (reasons_zh, reasons) = (reasons(Language::ZhCn), reasons(Language::En));
    let effect = match request.request_type {
        RequestType::WebsiteCancellation => (
            "网站已注销，并已从备案系统中清除。".to_string(),
            "The website is cancelled and cleared from the license system.".to_string(),
        ),
        RequestType::AccessCancellation => (
            "已取消接入，网站已从本服务商的备案系统中清除，主体备案号保留。".to_string(),
            "Access is cancelled: the website is cleared from this provider's license system; the entity license number stays.".to_string(),
        ),
        RequestType::AccessChange => (
            format!(
                "新的服务IP已生效：{}。",
                request.service_ips.clone().unwrap_or_default().join(", ")
            ),
            format!(
                "The new service IPs are in force: {}.",
                request.service_ips.clone().unwrap_or_default().join(", ")
            ),
        ),
    };
    match event {
        Event::Submitted => (
            "申请已提交，我们将在1个工作日内完成初审。".into(),
            "Your request is submitted; we will complete the first review within 1 working day.".into(),
        ),
        Event::PasswordRejected => (
            "备案密码错误，请点击“修改并提交”重新输入。".into(),
            "The license password is incorrect. Use \"Modify and Submit\" to enter it again.".into(),
        ),
        Event::FirstReviewRejected => (
            format!("初审未通过，原因：{reasons_zh}。请按原因修改后点击“修改并提交”。"),
            format!("The first review rejected the request: {reasons}. Please modify it and use \"Modify and Submit\"."),
        ),
        Event::ForwardedToAuthority => (
            "初审已通过，申请已提交至通信管理局审核。".into(),
            "The first review approved your request; it has been submitted to the communication administration.".into(),
        ),
        Event::AuthorityApproved => (
            "通信管理局已审核通过。".into(),
            "The communication administration approved your request.".into(),
        ),
        Event::AuthorityRejected => (
            format!("通信管理局审核未通过，原因：{reasons_zh}。"),
            format!("The communication administration rejected your request: {reasons}."),
        ),
        Event::Completed => effect,
        Event::ExpiryReminder => (
            "被驳回的申请即将过期，请尽快修改并提交。".into(),
            "Your rejected request will expire soon; please modify and submit it.".into(),
        ),
        Event::Expired => (
            "被驳回的申请未在期限内重新提交，已过期。".into(),
            "Your rejected request was not resubmitted in time and has expired.".into(),
        ),
        Event::Failed => (
            "申请处理失败，请联系客服。".into(),
            "We could not process your request; please contact support.".into(),
        ),
    }
}

/// The customer's message about `request` on `website`.
pub fn customer_message(
    event: Event,
    request: &Request,
    website: &Website,
    entity: &Entity,
) -> Message {
    let (type_zh, type_en) = type_names(request.request_type);
    let (mut zh, mut en) = event_text(event, request);
    if event == Event::Completed {
        // What the customer must still do, as the confirm step said it (`impact`).
        for todo in crate::impact::still_to_do(request.request_type, website) {
            zh.push_str(&todo.zh_cn);
            en.push(' ');
            en.push_str(&todo.en);
        }
    }
    // The status the event announces, even if the request has moved on since.
    let status = event.status().unwrap_or(request.status).as_str();
    Message {
        sms: format!(
            "【备案】{type_zh} {domain}（{license}）：{zh} / [ICP] {type_en} of {domain} ({license}): {en}",
            domain = website.domain,
            license = website.website_license_number,
        ),
        subject: format!("【备案】{type_zh} {} — {type_en}: {status}", website.domain),
        body: format!(
            "{name}：\n\n{type_zh}申请（网站 {domain}，网站备案号 {license}，主体备案号 {entity_license}）\n状态：{status}\n{zh}\n\n\
             {type_en} request (website {domain}, website license {license}, entity license {entity_license})\n\
             Status: {status}\n{en}\n\nRequest ID: {id}\n",
            name = entity.name,
            domain = website.domain,
            license = website.website_license_number,
            entity_license = entity.entity_license_number,
            id = request.request_id,
        ),
    }
}

/// The code of a license password retrieval, valid until `expires_at`.
pub fn reset_code_message(entity: &Entity, code: &str, expires_at: DateTime<Utc>) -> Message {
    let until_zh = for_people(expires_at, Language::ZhCn);
    let until = for_people(expires_at, Language::En);
    Message {
        sms: format!(
            "【备案】找回备案密码验证码：{code}，{until_zh}前有效，请勿告诉他人。/ [ICP] License password retrieval code: {code}, valid until {until}; never share it."
        ),
        subject: "【备案】找回备案密码验证码 — License password retrieval code".into(),
        body: format!(
            "{name}：\n\n主体备案号 {license} 找回备案密码的验证码：{code}\n{until_zh}前有效。如非本人操作，请忽略本邮件，密码不会改变。\n\n\
             The code to retrieve the license password of entity license {license}: {code}\n\
             Valid until {until}. If you did not ask for it, ignore this email: the password stays.\n",
            name = entity.name,
            license = entity.entity_license_number,
        ),
    }
}

/// The license password was changed at `at` (a retrieval).
pub fn password_changed_message(entity: &Entity, at: DateTime<Utc>) -> Message {
    let at_zh = for_people(at, Language::ZhCn);
    let at = for_people(at, Language::En);
    let license = &entity.entity_license_number;
    Message {
        sms: format!(
            "【备案】主体备案号 {license} 的备案密码已于 {at_zh}修改。如非本人操作，请立即联系客服。/ [ICP] The license password of {license} was changed at {at}. If it was not you, contact support at once."
        ),
        subject: "【备案】备案密码已修改 — License password changed".into(),
        body: format!(
            "{name}：\n\n主体备案号 {license} 的备案密码已于 {at_zh}通过找回备案密码修改。修改前已提交的申请仍按提交时的密码核验。如非本人操作，请立即联系客服。\n\n\
             The license password of entity license {license} was changed at {at} through password retrieval. Requests submitted before the change are checked against the password they were submitted with. If it was not you, contact support at once.\n",
            name = entity.name,
        ),
    }
}

/// The reviewers' message: a request waits for first review, or is overdue.
pub fn reviewer_message(request: &Request, website: &Website, overdue: bool) -> Message {
    let (type_zh, type_en) = type_names(request.request_type);
    let (head_zh, head_en) = if overdue {
        (
            "初审已超时（1个工作日）",
            "First review overdue (1 working day)",
        )
    } else {
        ("待初审", "Awaiting first review")
    };
    let subject = format!("{head_zh} / {head_en}: {type_en} {}", website.domain);
    Message {
        sms: subject.clone(),
        subject,
        body: format!(
            "{head_zh}：{type_zh} {domain}（{license}）\n{head_en}: {type_en} of {domain} ({license})\nRequest ID: {id}\n",
            domain = website.domain,
            license = website.website_license_number,
            id = request.request_id,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Status, WebsiteStatus};
    use chrono::Utc;

    fn fixtures() -> (Request, Website, Entity) {
        let website = Website {
            website_id: "w1".into(),
            entity_id: "e1".into(),
            domain: "shop.example.cn".into(),
            website_license_number: "京ICP备12345678号-2".into(),
            service_ips: vec!["203.0.113.1".into()],
            status: WebsiteStatus::Active,
            open_request_id: None,
        };
        let entity = Entity {
            entity_id: "e1".into(),
            name: "Example Co".into(),
            entity_license_number: "京ICP备12345678号".into(),
            password_hash: String::new(),
            phone: "+8613800000000".into(),
            email: "a@example.cn".into(),
            failed_password_attempts: 0,
            locked_until: None,
            retrieval: Default::default(),
        };
        let mut request = Request::submitted(
            "req-1".into(),
            RequestType::AccessChange,
            &website,
            Some(vec!["198.51.100.9".into()]),
            "customer:e1".into(),
            Utc::now(),
        );
        request.status = Status::FirstReviewRejected;
        request.rejection_reasons = vec![crate::Reason::Free("IP not in our network".into())];
        (request, website, entity)
    }

    #[test]
    fn customer_messages_name_type_domain_licence_status_and_reasons_in_both_languages() {
        let (request, website, entity) = fixtures();
        let m = customer_message(Event::FirstReviewRejected, &request, &website, &entity);
        for text in [&m.sms, &m.body] {
            assert!(
                text.contains("变更接入") && text.contains("Access change"),
                "{text}"
            );
            assert!(text.contains("shop.example.cn"));
            assert!(text.contains("京ICP备12345678号-2"));
            assert!(text.contains("IP not in our network"));
        }
        assert!(m.body.contains("first_review_rejected"));
        assert!(m.body.contains("京ICP备12345678号"));
        let done = customer_message(Event::Completed, &request, &website, &entity);
        assert!(done.body.contains("198.51.100.9"));
    }

    #[test]
    fn a_completed_access_cancellation_says_again_to_move_the_filing() {
        let (mut request, website, entity) = fixtures();
        request.request_type = RequestType::AccessCancellation;
        let done = customer_message(Event::Completed, &request, &website, &entity);
        for todo in crate::impact::still_to_do(RequestType::AccessCancellation, &website) {
            assert!(done.body.contains(&todo.zh_cn) && done.body.contains(&todo.en));
            assert!(done.sms.contains(&todo.en));
        }
    }

    #[test]
    fn reviewer_messages_say_whether_overdue() {
        let (request, website, _) = fixtures();
        assert!(reviewer_message(&request, &website, false)
            .subject
            .contains("Awaiting"));
        assert!(reviewer_message(&request, &website, true)
            .subject
            .contains("overdue"));
    }
}
