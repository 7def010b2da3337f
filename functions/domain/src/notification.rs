//! What customers and reviewers are told at each step. An SMS is in the entity's language,
//! signed, and at most two segments; an email has a subject in both languages and a body in the
//! reader's language first, then the other: what happened, the reasons, what is next and by
//! when, and the request's page in the console. No status key and no RFC 3339 stamp: times are
//! written for people, in China time.

use crate::calendar::{for_people, for_people_briefly};
use crate::language::{Language, Text};
use crate::reason;
use crate::{Entity, Request, RequestType, Website};
use chrono::{DateTime, Utc};

/// What every message sent through a notifier carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    /// The provider's SMS signature, `【…】`: every SMS starts with it.
    pub sms_signature: String,
    /// The console's page (`…/console/index.html`); a request is at `#/requests/{requestId}`.
    pub console_url: String,
    /// How long a rejected request waits for "Modify and Submit" before it expires (the
    /// workflow's `REJECTED_EXPIRY_SECONDS`): a rejection's messages say by when.
    pub resubmit_within: chrono::Duration,
}

/// At most this many segments an SMS: each costs, and a long one arrives in pieces.
pub const SMS_MAX_SEGMENTS: usize = 2;

/// How long the authority usually takes to decide, as customers are told (it is the
/// authority's time, not a deadline of ours).
const AUTHORITY_USUAL_WORKING_DAYS: u32 = 20;

/// GSM 03.38's default alphabet (one septet each) and its extension table (two each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// The segments `text` is sent in: GSM-7 if every character is in the GSM alphabet (160
/// septets in one segment, 153 in each of several), else UCS-2 (70 UTF-16 units in one, 67
/// in each of several) — one Chinese character, or the signature's brackets, makes it UCS-2.
pub fn sms_segments(text: &str) -> usize {
    let septets: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (units, single, each) = match septets {
        Some(septets) => (septets, 160, 153),
        None => (text.encode_utf16().count(), 70, 67),
    };
    if units <= single {
        1
    } else {
        units.div_ceil(each)
    }
}

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

fn text(zh_cn: impl Into<String>, en: impl Into<String>) -> Text {
    Text::new(zh_cn, en)
}

/// The request type's name: `变更接入`, `Access change`.
fn type_name(t: RequestType) -> Text {
    match t {
        RequestType::WebsiteCancellation => text("注销网站", "Website cancellation"),
        RequestType::AccessCancellation => text("取消接入", "Access cancellation"),
        RequestType::AccessChange => text("变更接入", "Access change"),
    }
}

/// `first` and then the other language, each as `block` writes it.
fn both(first: Language, block: impl Fn(Language) -> String, between: &str) -> String {
    [first, first.other()].map(block).join(between)
}

/// Between the two languages of an email's body.
const LANGUAGES_APART: &str = "\n--------\n\n";

/// A subject about a request: `初审未通过：shop.example.cn 的变更接入申请` or `First review
/// rejected: access change for shop.example.cn`.
fn request_subject(
    head: &Text,
    request_type: RequestType,
    domain: &str,
    language: Language,
) -> String {
    let name = type_name(request_type);
    match language {
        Language::ZhCn => format!("{}：{domain} 的{}申请", head.zh_cn, name.zh_cn),
        Language::En => format!("{}: {} for {domain}", head.en, name.en.to_lowercase()),
    }
}

/// What a customer's message says of an event.
struct Said {
    /// The subject's: what happened, in a few words.
    head: Text,
    /// The SMS's: what happened, after the request's type and domain.
    sms: Text,
    /// The SMS's: what is next, in short.
    sms_next: Option<Text>,
    /// The email's: what happened, after the request's type and website.
    happened: Text,
    /// The email's: what is next, and by when.
    next: Text,
    /// The request's rejection reasons belong to the message.
    with_reasons: bool,
}

fn said(event: Event, request: &Request, website: &Website, letterhead: &Letterhead) -> Said {
    let working_days = AUTHORITY_USUAL_WORKING_DAYS;
    // A rejection is the request's last change, so it expires this long after its update.
    let expires_at = request.updated_at + letterhead.resubmit_within;
    let (by_zh, by_en) = (
        for_people(expires_at, Language::ZhCn),
        for_people(expires_at, Language::En),
    );
    let modify_within = text(
        format!(
            "请在{}前修改并提交。",
            for_people_briefly(expires_at, Language::ZhCn)
        ),
        format!(
            "Modify and Submit by {}.",
            for_people_briefly(expires_at, Language::En)
        ),
    );
    let closed = text(
        "本申请已结束。如仍需办理，请重新发起申请。",
        "This request is closed. To go on, file a new request.",
    );
    let no_more = |head: Text, sms: Text, happened: Text, next: Text| Said {
        head,
        sms,
        sms_next: None,
        happened,
        next,
        with_reasons: false,
    };
    match event {
        Event::Submitted => {
            let due = request.review_due_at;
            let by = |language| due.map(|at| for_people(at, language));
            Said {
                head: text("申请已提交", "Request submitted"),
                sms: text("已提交。", "submitted."),
                sms_next: Some(match (by(Language::ZhCn), by(Language::En)) {
                    (Some(zh), Some(en)) => {
                        text(format!("初审将于{zh}前完成。"), format!("First review by {en}."))
                    }
                    _ => text("初审将在1个工作日内完成。", "First review within 1 working day."),
                }),
                happened: text("已提交。", "is submitted."),
                next: match (by(Language::ZhCn), by(Language::En)) {
                    (Some(zh), Some(en)) => text(
                        format!("我们将核验备案密码，并在{zh}前完成初审。"),
                        format!("We check the license password and complete the first review by {en}."),
                    ),
                    _ => text(
                        "我们将核验备案密码，并在1个工作日内完成初审。",
                        "We check the license password and complete the first review within 1 working day.",
                    ),
                },
                with_reasons: false,
            }
        }
        Event::PasswordRejected => Said {
            head: text("备案密码核验未通过", "License password check failed"),
            sms: text("备案密码核验未通过。", "wrong license password."),
            sms_next: Some(modify_within),
            happened: text("未通过备案密码核验。", "failed the license password check."),
            next: text(
                format!("请在{by_zh}前在控制台点击“修改并提交”，重新输入备案密码；逾期未提交，申请将过期。"),
                format!("Use \"Modify and Submit\" in the console by {by_en} to enter the license password again; after that the request expires."),
            ),
            with_reasons: true,
        },
        Event::FirstReviewRejected => Said {
            head: text("初审未通过", "First review rejected"),
            sms: text("初审未通过。", "rejected at first review."),
            sms_next: Some(modify_within),
            happened: text("未通过初审。", "was rejected at the first review."),
            next: text(
                format!("请按原因修改，并在{by_zh}前在控制台点击“修改并提交”；逾期未提交，申请将过期。"),
                format!("Modify the request as the reasons say and use \"Modify and Submit\" in the console by {by_en}; after that the request expires."),
            ),
            with_reasons: true,
        },
        Event::ForwardedToAuthority => Said {
            head: text(
                "初审通过，已提交通信管理局",
                "First review passed, with the communication administration",
            ),
            sms: text(
                "初审已通过，已提交通信管理局审核。",
                "passed first review; with the authority.",
            ),
            sms_next: Some(text(
                format!("通常{working_days}个工作日内出结果。"),
                format!("It usually decides within {working_days} working days."),
            )),
            happened: text(
                "已通过初审，并已提交至通信管理局审核。",
                "passed the first review and is submitted to the communication administration.",
            ),
            next: text(
                format!("通信管理局通常在{working_days}个工作日内作出决定，结果将通过短信和邮件通知您。"),
                format!("The communication administration usually decides within {working_days} working days; you will be told its decision by SMS and email."),
            ),
            with_reasons: false,
        },
        Event::AuthorityApproved => Said {
            head: text(
                "通信管理局审核通过",
                "Approved by the communication administration",
            ),
            sms: text("通信管理局已审核通过。", "approved by the authority."),
            sms_next: Some(text(
                "正在办理，完成后再通知您。",
                "We will tell you once it is done.",
            )),
            happened: text(
                "已获通信管理局审核通过。",
                "is approved by the communication administration.",
            ),
            next: text(
                "我们正在办理，完成后将再次通知您。",
                "We are putting it into effect and will tell you once it is done.",
            ),
            with_reasons: false,
        },
        Event::AuthorityRejected => Said {
            with_reasons: true,
            ..no_more(
                text(
                    "通信管理局审核未通过",
                    "Rejected by the communication administration",
                ),
                text("通信管理局审核未通过。", "rejected by the authority."),
                text(
                    "未通过通信管理局审核。",
                    "was rejected by the communication administration.",
                ),
                text(
                    "本申请已结束。如仍需办理，请按原因处理后重新发起申请。",
                    "This request is closed. To go on, deal with the reasons and file a new request.",
                ),
            )
        },
        Event::Completed => completed(request, website),
        Event::ExpiryReminder => Said {
            head: text("申请即将过期", "Request expiring soon"),
            sms: text("即将过期。", "expires soon."),
            sms_next: Some(modify_within),
            happened: text(
                "被驳回后尚未修改并提交，即将过期。",
                "was rejected and is not resubmitted yet: it expires soon.",
            ),
            next: text(
                format!("请在{by_zh}前在控制台点击“修改并提交”，否则申请将过期。"),
                format!("Use \"Modify and Submit\" in the console by {by_en}, or the request expires."),
            ),
            with_reasons: true,
        },
        Event::Expired => no_more(
            text("申请已过期", "Request expired"),
            text("已过期。", "expired."),
            text(
                "被驳回后未在期限内修改并提交，已过期。",
                "was rejected and not resubmitted in time: it has expired.",
            ),
            closed,
        ),
        Event::Failed => Said {
            sms_next: Some(text("请联系客服。", "Please contact support.")),
            ..no_more(
                text("申请处理失败", "Request failed"),
                text("处理失败。", "could not be processed."),
                text("处理失败。", "could not be processed."),
                text("请联系客服，并告知申请编号。", "Please contact support with the request ID."),
            )
        },
    }
}

/// A completion: what changed, and what the customer must still do, as the confirm step said
/// it (`impact`).
fn completed(request: &Request, website: &Website) -> Said {
    let ips = request.service_ips.clone().unwrap_or_default().join(", ");
    let (effect, sms_next) = match request.request_type {
        RequestType::WebsiteCancellation => (
            text(
                "网站已注销，并已从备案系统中清除。",
                "The website is cancelled and cleared from the license system.",
            ),
            None,
        ),
        RequestType::AccessCancellation => (
            text(
                "网站已从本服务商的备案系统中清除，主体备案号保留。",
                "The website is cleared from this provider's license system; the entity license number stays.",
            ),
            Some(text(
                "请尽快将备案接入新服务商。",
                "Move your filing to your new access provider soon.",
            )),
        ),
        RequestType::AccessChange => (
            text(
                format!("新的服务IP已生效：{ips}。"),
                format!("The new service IPs are in force: {ips}."),
            ),
            Some(text("新服务IP已生效。", "The new service IPs are in force.")),
        ),
    };
    let to_do = crate::consequences::still_to_do(request.request_type, website);
    let next = if to_do.is_empty() {
        text("您无需再做其他操作。", "Nothing more is needed from you.")
    } else {
        let all = |language| {
            to_do
                .iter()
                .map(|todo| todo.get(language))
                .collect::<Vec<_>>()
        };
        text(all(Language::ZhCn).concat(), all(Language::En).join(" "))
    };
    Said {
        head: text("申请已完成", "Request completed"),
        sms: text("已完成。", "completed."),
        sms_next,
        happened: text(
            format!("已完成。{}", effect.zh_cn),
            format!("is completed. {}", effect.en),
        ),
        next,
        with_reasons: false,
    }
}

/// A reason as one item of a list in a sentence: without the full stop some texts end with.
fn bare(reason: &str) -> &str {
    reason
        .trim()
        .trim_end_matches(['。', '.', '；', ';', '，', ','])
}

/// A reason cut shorter than this says nothing: it is left to the email.
const SHORTEST_CUT_REASONS: usize = 8;

/// The SMS of `core` and as many of the rest as fit in two segments, in order of need: what is
/// next, the reasons (after `label`; cut short with '…' if only some fit), then where the
/// details are.
fn fit_sms(
    core: &str,
    (label, reasons): (&str, &str),
    next: Option<&str>,
    details: &str,
    language: Language,
) -> String {
    let space = match language {
        Language::ZhCn => "",
        Language::En => " ",
    };
    let render = |reasons: &str, next: Option<&str>, details: Option<&str>| {
        let mut sms = core.to_string();
        if !reasons.is_empty() {
            sms.push('\n');
            sms.push_str(label);
            sms.push_str(reasons);
        }
        let last: Vec<&str> = next.into_iter().chain(details).collect();
        if !last.is_empty() {
            sms.push('\n');
            sms.push_str(&last.join(space));
        }
        sms
    };
    let chars: Vec<char> = reasons.chars().collect();
    let cut = (SHORTEST_CUT_REASONS..chars.len())
        .rev()
        .map(|kept| format!("{}…", String::from_iter(&chars[..kept])))
        .map(|reasons| render(&reasons, next, None));
    [
        render(reasons, next, Some(details)),
        render(reasons, next, None),
    ]
    .into_iter()
    .chain(cut)
    .chain([render("", next, Some(details)), render("", next, None)])
    .find(|sms| sms_segments(sms) <= SMS_MAX_SEGMENTS)
    .unwrap_or_else(|| render("", None, None))
}

/// The customer's message about `request` on `website`.
pub fn customer_message(
    event: Event,
    request: &Request,
    website: &Website,
    entity: &Entity,
    letterhead: &Letterhead,
) -> Message {
    let first = entity.language();
    let said = said(event, request, website, letterhead);
    let name = type_name(request.request_type);
    let domain = &website.domain;
    let reasons = |language| {
        if said.with_reasons {
            reason::texts(&request.rejection_reasons, language)
        } else {
            Vec::new()
        }
    };
    let link = format!(
        "{}#/requests/{}",
        letterhead.console_url, request.request_id
    );

    let sig = &letterhead.sms_signature;
    let sms_reasons = reasons(first)
        .iter()
        .map(|r| bare(r).to_string())
        .collect::<Vec<_>>();
    let (core, sms_reasons, details) = match first {
        Language::ZhCn => (
            format!("{sig}{domain} 的{}申请{}", name.zh_cn, said.sms.zh_cn),
            sms_reasons.join("；"),
            "详情见邮件或控制台。",
        ),
        Language::En => (
            format!("{sig}{} for {domain}: {}", name.en, said.sms.en),
            sms_reasons.join("; "),
            "Details by email.",
        ),
    };
    let label = match first {
        Language::ZhCn => "原因：",
        Language::En => "Reasons: ",
    };
    let sms_next = said.sms_next.as_ref().map(|next| next.get(first));
    let sms = fit_sms(&core, (label, &sms_reasons), sms_next, details, first);

    let subject = both(
        first,
        |language| request_subject(&said.head, request.request_type, domain, language),
        " / ",
    );
    let license = &website.website_license_number;
    let id = &request.request_id;
    let body = both(
        first,
        |language| {
            let listed = reasons(language);
            match language {
                Language::ZhCn => {
                    let mut block = format!(
                        "{}，您好：\n\n您的{}申请（网站 {domain}，网站备案号 {license}）{}\n",
                        entity.name, name.zh_cn, said.happened.zh_cn
                    );
                    if !listed.is_empty() {
                        block.push_str(&format!("\n原因：\n{}\n", listed.join("\n")));
                    }
                    block.push_str(&format!(
                        "\n下一步：{}\n\n在控制台查看申请：{link}\n申请编号：{id}\n",
                        said.next.zh_cn
                    ));
                    block
                }
                Language::En => {
                    let mut block = format!(
                        "Dear {},\n\nYour {} request (website {domain}, website license {license}) {}\n",
                        entity.name,
                        name.en.to_lowercase(),
                        said.happened.en
                    );
                    if !listed.is_empty() {
                        block.push_str(&format!("\nReasons:\n{}\n", listed.join("\n")));
                    }
                    block.push_str(&format!(
                        "\nNext: {}\n\nSee the request in the console: {link}\nRequest ID: {id}\n",
                        said.next.en
                    ));
                    block
                }
            }
        },
        LANGUAGES_APART,
    );
    Message { sms, subject, body }
}

/// The code of a license password retrieval, valid until `expires_at`.
pub fn reset_code_message(
    entity: &Entity,
    code: &str,
    expires_at: DateTime<Utc>,
    letterhead: &Letterhead,
) -> Message {
    let first = entity.language();
    let until = |language| for_people(expires_at, language);
    let sig = &letterhead.sms_signature;
    let license = &entity.entity_license_number;
    Message {
        sms: match first {
            Language::ZhCn => format!(
                "{sig}找回备案密码验证码：{code}，{}前有效，请勿告诉他人。",
                until(Language::ZhCn)
            ),
            Language::En => format!(
                "{sig}License password retrieval code: {code}, valid until {}. Never share it.",
                until(Language::En)
            ),
        },
        subject: both(
            first,
            |language| {
                text("找回备案密码验证码", "License password retrieval code")
                    .get(language)
                    .to_string()
            },
            " / ",
        ),
        body: both(
            first,
            |language| {
                match language {
                Language::ZhCn => format!(
                    "{}，您好：\n\n主体备案号 {license} 找回备案密码的验证码：{code}\n{}前有效。如非本人操作，请忽略本邮件，密码不会改变。\n",
                    entity.name,
                    until(language)
                ),
                Language::En => format!(
                    "Dear {},\n\nThe code to retrieve the license password of entity license {license}: {code}\n\
                     Valid until {}. If you did not ask for it, ignore this email: the password stays.\n",
                    entity.name,
                    until(language)
                ),
            }
            },
            LANGUAGES_APART,
        ),
    }
}

/// The license password was changed at `at` (a retrieval).
pub fn password_changed_message(
    entity: &Entity,
    at: DateTime<Utc>,
    letterhead: &Letterhead,
) -> Message {
    let first = entity.language();
    let at = |language| for_people(at, language);
    let sig = &letterhead.sms_signature;
    let license = &entity.entity_license_number;
    Message {
        sms: match first {
            Language::ZhCn => format!(
                "{sig}主体备案号 {license} 的备案密码已于 {}修改。如非本人操作，请立即联系客服。",
                at(Language::ZhCn)
            ),
            Language::En => format!(
                "{sig}The license password of {license} was changed at {}. If it was not you, contact support at once.",
                at(Language::En)
            ),
        },
        subject: both(
            first,
            |language| text("备案密码已修改", "License password changed").get(language).to_string(),
            " / ",
        ),
        body: both(
            first,
            |language| match language {
                Language::ZhCn => format!(
                    "{}，您好：\n\n主体备案号 {license} 的备案密码已于 {}通过找回备案密码修改。修改前已提交的申请仍按提交时的密码核验。如非本人操作，请立即联系客服。\n",
                    entity.name,
                    at(language)
                ),
                Language::En => format!(
                    "Dear {},\n\nThe license password of entity license {license} was changed at {} through password retrieval. \
                     Requests submitted before the change are checked against the password they were submitted with. \
                     If it was not you, contact support at once.\n",
                    entity.name,
                    at(language)
                ),
            },
            LANGUAGES_APART,
        ),
    }
}

/// The reviewers' message: a request waits for first review, or is overdue. Chinese first.
pub fn reviewer_message(
    request: &Request,
    website: &Website,
    entity: &Entity,
    overdue: bool,
    letterhead: &Letterhead,
) -> Message {
    let head = if overdue {
        text("初审已超时", "First review overdue")
    } else {
        text("待初审", "Awaiting first review")
    };
    let domain = &website.domain;
    let subject = |language| request_subject(&head, request.request_type, domain, language);
    let due = |language| request.review_due_at.map(|at| for_people(at, language));
    let link = format!("{}#/reviews/{}", letterhead.console_url, request.request_id);
    let (name, license, website_license) = (
        &entity.name,
        &entity.entity_license_number,
        &website.website_license_number,
    );
    Message {
        sms: format!("{}{}", letterhead.sms_signature, subject(Language::ZhCn)),
        subject: both(Language::ZhCn, subject, " / "),
        body: both(
            Language::ZhCn,
            |language| {
                let mut block = match language {
                    Language::ZhCn => format!(
                        "{}\n主体：{name}（主体备案号 {license}）\n网站备案号：{website_license}\n",
                        subject(language)
                    ),
                    Language::En => format!(
                        "{}\nEntity: {name} (entity license {license})\nWebsite license: {website_license}\n",
                        subject(language)
                    ),
                };
                if let Some(due) = due(language) {
                    block.push_str(&match language {
                        Language::ZhCn => format!("初审截止：{due}\n"),
                        Language::En => format!("First review due: {due}\n"),
                    });
                }
                block.push_str(&match language {
                    Language::ZhCn => format!("在控制台审核：{link}\n"),
                    Language::En => format!("Review it in the console: {link}\n"),
                });
                block
            },
            "\n",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::has_chinese;
    use crate::{HistoryEvent, Reason, ReasonCode, ReviewDecision, Status, WebsiteStatus};
    use chrono::TimeZone;

    const EVENTS: [Event; 10] = [
        Event::Submitted,
        Event::PasswordRejected,
        Event::FirstReviewRejected,
        Event::ForwardedToAuthority,
        Event::AuthorityApproved,
        Event::AuthorityRejected,
        Event::Completed,
        Event::ExpiryReminder,
        Event::Expired,
        Event::Failed,
    ];
    const TYPES: [RequestType; 3] = [
        RequestType::WebsiteCancellation,
        RequestType::AccessCancellation,
        RequestType::AccessChange,
    ];
    const LANGUAGES: [Language; 2] = [Language::ZhCn, Language::En];
    const FREE: &str = "IP not in our network";

    fn letterhead() -> Letterhead {
        Letterhead {
            sms_signature: "【备案中心】".into(),
            console_url: "https://api.example.cn/prod/console/index.html".into(),
            resubmit_within: chrono::Duration::days(30),
        }
    }

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
            language: None,
            failed_password_attempts: 0,
            locked_until: None,
            retrieval: Default::default(),
        };
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 0, 42, 0).unwrap();
        let mut request = Request::submitted(
            "req-1".into(),
            RequestType::AccessChange,
            &website,
            Some(vec!["198.51.100.9".into()]),
            "customer:e1".into(),
            now,
        );
        request.status = Status::FirstReviewRejected;
        request.review_due_at = Some(now + chrono::Duration::days(1));
        request.rejection_reasons = vec![ReasonCode::IdPhotoUnclear.into(), FREE.into()];
        // A reviewer decided: no customer's message may name them.
        request.review = Some(ReviewDecision {
            decision: crate::Decision::Reject,
            reasons: request.rejection_reasons.clone(),
            reviewer: "alice".into(),
            at: now,
        });
        request.history.push(crate::HistoryEntry::new(
            now,
            Status::ForwardedToAuthority,
            "reviewer:alice".into(),
            HistoryEvent::ForwardedToAuthority {
                submission_id: "sub-1".into(),
                due_at: now,
                late: false,
                reviewer: Some("alice".into()),
            },
        ));
        (request, website, entity)
    }

    /// The fixtures at their longest: a 60-character domain, many service IPs, long typed
    /// reasons in either language after a common one.
    fn longest(free: &str) -> (Request, Website, Entity) {
        let (mut request, mut website, entity) = fixtures();
        website.domain = format!("{}.example.cn", "a".repeat(49));
        assert_eq!(website.domain.chars().count(), 60);
        let ips: Vec<String> = (1..=16).map(|i| format!("198.51.100.{i}")).collect();
        website.service_ips = ips.clone();
        request.service_ips = Some(ips);
        request.rejection_reasons = vec![ReasonCode::ServiceIpsNotProvider.into(), free.into()];
        (request, website, entity)
    }

    /// A `[a-z]+_[a-z_]+` word: a status or code key.
    fn snake_key(text: &str) -> Option<&str> {
        text.split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .find(|word| {
                word.find('_')
                    .is_some_and(|at| at > 0 && at + 1 < word.len())
            })
    }

    /// `\d{4}-\d{2}-\d{2}T`: an RFC 3339 stamp.
    fn has_rfc3339(text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        chars.windows(11).any(|w| {
            w.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == '-',
                10 => *c == 'T',
                _ => c.is_ascii_digit(),
            })
        })
    }

    fn message(
        event: Event,
        (request, website, entity): &(Request, Website, Entity),
        t: RequestType,
        language: Language,
    ) -> Message {
        let request = Request {
            request_type: t,
            ..request.clone()
        };
        let entity = Entity {
            language: Some(language),
            ..entity.clone()
        };
        customer_message(event, &request, website, &entity, &letterhead())
    }

    #[test]
    fn segments_are_counted_as_gsm_7_or_ucs_2() {
        assert_eq!(sms_segments(&"a".repeat(160)), 1);
        assert_eq!(sms_segments(&"a".repeat(161)), 2);
        assert_eq!(sms_segments(&"a".repeat(306)), 2);
        assert_eq!(sms_segments(&"a".repeat(307)), 3);
        // An extension character takes two septets.
        assert_eq!(sms_segments(&"[".repeat(80)), 1);
        assert_eq!(sms_segments(&"[".repeat(81)), 2);
        assert_eq!(sms_segments(&"备".repeat(70)), 1);
        assert_eq!(sms_segments(&"备".repeat(71)), 2);
        assert_eq!(sms_segments(&"备".repeat(134)), 2);
        assert_eq!(sms_segments(&"备".repeat(135)), 3);
        // One character outside GSM makes all of it UCS-2.
        assert_eq!(sms_segments(&format!("【{}】", "a".repeat(100))), 2);
    }

    #[test]
    fn every_customer_message_reads_well_in_the_entitys_language() {
        let long_en = "The service IPs you gave belong to another provider's network; \
                       please check with your hosting company and give the addresses of this provider's servers instead"
            .repeat(3);
        let long_zh = "您提交的服务IP不属于本服务商的网络，请与您的主机服务商核实后，填写本服务商服务器的IP地址".repeat(4);
        let link = "https://api.example.cn/prod/console/index.html#/requests/req-1";
        for fixture in [fixtures(), longest(&long_en), longest(&long_zh)] {
            let free = fixture.0.rejection_reasons[1].text(Language::En);
            let short = fixture.1.domain == "shop.example.cn";
            for event in EVENTS {
                for t in TYPES {
                    for language in LANGUAGES {
                        let m = message(event, &fixture, t, language);
                        let what = format!(
                            "{event:?} {t:?} {language:?}:\n{}\n{}\n{}",
                            m.sms, m.subject, m.body
                        );
                        assert!(m.sms.starts_with("【备案中心】"), "{what}");
                        assert!(sms_segments(&m.sms) <= SMS_MAX_SEGMENTS, "{what}");
                        let sms_own = m.sms["【备案中心】".len()..].replace(&free, "");
                        match language {
                            Language::ZhCn => assert!(has_chinese(&sms_own), "{what}"),
                            Language::En => assert!(!has_chinese(&sms_own), "{what}"),
                        }
                        for text in [&m.sms, &m.subject, &m.body] {
                            let fixed = text.replace(link, "").replace("req-1", "");
                            assert_eq!(snake_key(&fixed), None, "{what}");
                            assert!(!has_rfc3339(text), "{what}");
                            for doubled in ["。。", ".。", "。.", "..", "；。", ";."] {
                                assert!(!text.contains(doubled), "{doubled} in {what}");
                            }
                            assert!(!text.contains("alice"), "{what}");
                        }
                        assert!(m.body.contains(link), "{what}");
                        // Subject and body: the entity's language first.
                        assert_eq!(
                            has_chinese(m.subject.split(" / ").next().unwrap()),
                            language == Language::ZhCn,
                            "{what}"
                        );
                        let (first, _) = m.body.split_once(LANGUAGES_APART).unwrap();
                        let first_own = first.replace(&free, "").replace("京ICP备12345678号-2", "");
                        assert_eq!(
                            has_chinese(&first_own),
                            language == Language::ZhCn,
                            "{what}"
                        );
                        let domain = &fixture.1.domain;
                        assert!(
                            m.sms.contains(domain.as_str()) && m.subject.contains(domain.as_str()),
                            "{what}"
                        );
                        let rejected = matches!(
                            event,
                            Event::PasswordRejected
                                | Event::FirstReviewRejected
                                | Event::AuthorityRejected
                                | Event::ExpiryReminder
                        );
                        if rejected {
                            let code = match &fixture.0.rejection_reasons[0] {
                                Reason::Common { code } => code.text(),
                                Reason::Free(_) => unreachable!(),
                            };
                            assert!(first.contains(code.get(language)), "{what}");
                            if short {
                                // All of the first reason, or as much of it as fits.
                                let label = ["原因：", "Reasons: "]
                                    .into_iter()
                                    .find(|l| m.sms.contains(l))
                                    .unwrap_or_else(|| panic!("no reasons in {what}"));
                                let shown =
                                    m.sms.split(label).nth(1).unwrap().lines().next().unwrap();
                                let code = code.get(language);
                                assert!(
                                    shown.starts_with(code)
                                        || code.starts_with(shown.trim_end_matches('…')),
                                    "{what}"
                                );
                            }
                            // The typed reason as typed, alone on its line, in both blocks.
                            assert_eq!(
                                m.body.lines().filter(|line| *line == free).count(),
                                2,
                                "{what}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_rejection_tells_the_reasons_and_what_to_do_by_when() {
        let (request, website, entity) = fixtures();
        // Rejected at 08:42 China time on 7 Dec; the workflow is configured to wait a week.
        let within_a_week = Letterhead {
            resubmit_within: chrono::Duration::days(7),
            ..letterhead()
        };
        let m = customer_message(
            Event::FirstReviewRejected,
            &request,
            &website,
            &entity,
            &within_a_week,
        );
        assert_eq!(
            m.subject,
            "初审未通过：shop.example.cn 的变更接入申请 / First review rejected: access change for shop.example.cn"
        );
        assert_eq!(
            m.sms,
            "【备案中心】shop.example.cn 的变更接入申请初审未通过。\n原因：证件照片不清晰；IP not in our network\n请在12月14日 08:42前修改并提交。详情见邮件或控制台。"
        );
        assert!(
            m.body
                .contains("并在2026年12月14日 08:42（北京时间）前在控制台点击")
                && m.body
                    .contains("in the console by 14 Dec 2026, 08:42 China time;"),
            "{}",
            m.body
        );
        // The reminder, days later, names the same time: the request has not changed since.
        let reminder = customer_message(
            Event::ExpiryReminder,
            &request,
            &website,
            &entity,
            &within_a_week,
        );
        assert!(
            reminder.sms.contains("请在12月14日 08:42前修改并提交。"),
            "{}",
            reminder.sms
        );
        assert!(
            reminder
                .body
                .contains("in the console by 14 Dec 2026, 08:42 China time,"),
            "{}",
            reminder.body
        );
        assert!(m.body.contains("京ICP备12345678号-2"));
        assert!(m.body.contains("The ID photo is blurred"));
    }

    #[test]
    fn the_submit_message_gives_the_first_reviews_due_time_in_china_time() {
        let (request, website, entity) = fixtures();
        let m = customer_message(Event::Submitted, &request, &website, &entity, &letterhead());
        assert!(
            m.body.contains("2026年12月8日 08:42（北京时间）前完成初审"),
            "{}",
            m.body
        );
        assert!(
            m.body.contains("by 8 Dec 2026, 08:42 China time"),
            "{}",
            m.body
        );
        assert!(
            m.sms
                .contains("初审将于2026年12月8日 08:42（北京时间）前完成"),
            "{}",
            m.sms
        );
    }

    #[test]
    fn a_completed_access_change_names_the_new_ips_and_a_cancellation_what_is_left_to_do() {
        let (request, website, entity) = fixtures();
        let done = customer_message(Event::Completed, &request, &website, &entity, &letterhead());
        assert!(done.body.contains("198.51.100.9"));
        let request = Request {
            request_type: RequestType::AccessCancellation,
            ..request
        };
        let done = customer_message(Event::Completed, &request, &website, &entity, &letterhead());
        for todo in crate::consequences::still_to_do(RequestType::AccessCancellation, &website) {
            assert!(done.body.contains(&todo.zh_cn) && done.body.contains(&todo.en));
        }
        assert!(
            done.sms.contains("请尽快将备案接入新服务商"),
            "{}",
            done.sms
        );
    }

    #[test]
    fn password_messages_are_signed_and_in_the_entitys_language() {
        let (_, _, entity) = fixtures();
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 0, 42, 0).unwrap();
        for language in LANGUAGES {
            let entity = Entity {
                language: Some(language),
                ..entity.clone()
            };
            for m in [
                reset_code_message(&entity, "123456", at, &letterhead()),
                password_changed_message(&entity, at, &letterhead()),
            ] {
                assert!(m.sms.starts_with("【备案中心】"), "{}", m.sms);
                assert!(sms_segments(&m.sms) <= SMS_MAX_SEGMENTS, "{}", m.sms);
                let own = m.sms["【备案中心】".len()..].replace("京ICP备12345678号", "");
                assert_eq!(has_chinese(&own), language == Language::ZhCn, "{}", m.sms);
                assert!(m.sms.contains(&for_people(at, language)), "{}", m.sms);
                for text in [&m.sms, &m.subject, &m.body] {
                    assert!(!has_rfc3339(text) && snake_key(text).is_none(), "{text}");
                }
            }
        }
    }

    #[test]
    fn reviewer_messages_name_the_request_its_entity_due_time_and_review_page() {
        let (request, website, entity) = fixtures();
        let m = reviewer_message(&request, &website, &entity, false, &letterhead());
        assert_eq!(
            m.subject,
            "待初审：shop.example.cn 的变更接入申请 / Awaiting first review: access change for shop.example.cn"
        );
        for part in [
            "Example Co",
            "京ICP备12345678号",
            "2026年12月8日 08:42（北京时间）",
            "8 Dec 2026, 08:42 China time",
            "https://api.example.cn/prod/console/index.html#/reviews/req-1",
        ] {
            assert!(m.body.contains(part), "{part} missing from {}", m.body);
        }
        let overdue = reviewer_message(&request, &website, &entity, true, &letterhead());
        assert!(overdue.subject.starts_with("初审已超时") && overdue.subject.contains("overdue"));
        for text in [&m.subject, &m.body, &overdue.subject, &overdue.body] {
            assert!(!has_rfc3339(text), "{text}");
        }
    }
}
