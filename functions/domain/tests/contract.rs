//! The state machine's definition (`statemachine/request.asl.yaml`) against the Rust contract
//! (`icp_domain::contract`): every value a Choice routes on is an outcome the functions answer,
//! every outcome is routed, every error name Retry or Catch matches is a known one and each is
//! used, and every task's payload is what its function reads. A rename on either side breaks
//! this test, not a request.

use icp_domain::contract::{
    Attempt, AuthorityOutcome, ClearTask, CloseTask, ErrorName, FirstReviewTask, ReminderOutcome,
    ReviewOutcome, VerifyOutcome, Wait,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

fn definition() -> Value {
    // Read at run time: the build's own path may belong to another clone sharing the target dir.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    let path = format!("{root}/../../statemachine/request.asl.yaml");
    let text = std::fs::read_to_string(path).expect("the definition");
    serde_yaml::from_str(&text).expect("the definition is YAML")
}

fn states(definition: &Value) -> impl Iterator<Item = (&String, &Value)> {
    definition["States"].as_object().expect("States").iter()
}

fn name_of<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// The one Choice rule that is not an outcome's: the count of failed rounds of applying an
/// approval against the rounds allowed before it is parked.
const PARKING_RULE: (&str, &str, &str) = (
    "$.applyRounds.failed",
    "NumericGreaterThanPath",
    "$.deadlines.applyRetryRounds",
);

/// The values the definition's Choice rules compare each variable with.
fn choice_values(definition: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, state) in states(definition).filter(|(_, s)| s["Type"] == "Choice") {
        for rule in state["Choices"].as_array().unwrap() {
            let variable = rule["Variable"].as_str().unwrap_or_else(|| {
                panic!("{name}: every rule compares one variable (no And/Or/Not): {rule}")
            });
            let (counter, comparison, bound) = PARKING_RULE;
            if variable == counter {
                assert_eq!(rule[comparison], bound, "{name}: {rule}");
                continue;
            }
            let value = rule["StringEquals"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: every rule is a StringEquals: {rule}"));
            values
                .entry(variable.to_string())
                .or_default()
                .insert(value.to_string());
        }
    }
    values
}

#[test]
fn every_choice_value_is_an_outcome_and_every_outcome_is_routed() {
    fn names<T: Serialize + Copy>(all: &[T]) -> BTreeSet<String> {
        all.iter().map(|v| name_of(*v)).collect()
    }
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("$.outcome", names(&VerifyOutcome::ALL)),
        ("$.review.decision", names(&ReviewOutcome::ALL)),
        ("$.authority.decision", names(&AuthorityOutcome::ALL)),
        ("$.reminder.outcome", names(&ReminderOutcome::ALL)),
    ]
    .into_iter()
    .map(|(variable, values)| (variable.to_string(), values))
    .collect();
    assert_eq!(choice_values(&definition()), expected);
}

/// Every `$.deadlines.*` the definition reads (waits, timeouts, the parking rule) is a field
/// verify-password answers, and every field it answers is read.
#[test]
fn every_deadline_read_is_answered_and_every_one_answered_is_read() {
    let answered: BTreeSet<String> = serde_json::to_value(
        icp_domain::deadlines::DeadlineConfig::default()
            .for_review_starting(
                chrono::Utc::now(),
                &icp_domain::calendar::WorkingCalendar::default(),
            )
            .1,
    )
    .unwrap()
    .as_object()
    .unwrap()
    .keys()
    .cloned()
    .collect();
    let text = serde_json::to_string(&definition()).unwrap();
    let read: BTreeSet<String> = text
        .split("$.deadlines.")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .collect();
    assert_eq!(read, answered);
}

/// `ALL` lists every variant: a variant added to an enum fails to compile here (the matches
/// are exhaustive) until it is counted, and then this test until it is listed.
#[test]
fn the_lists_of_variants_are_complete() {
    use AuthorityOutcome as A;
    use ErrorName as E;
    use ReminderOutcome as M;
    use ReviewOutcome as R;
    use VerifyOutcome as V;
    let verify = |v: V| match v {
        V::Accepted | V::Rejected | V::Superseded => 3,
    };
    let review = |r: R| match r {
        R::Approve | R::Reject | R::Superseded => 3,
    };
    let authority = |a: A| match a {
        A::Approved | A::Rejected | A::Overdue | A::Superseded => 4,
    };
    let reminder = |m: M| match m {
        M::Reminded | M::Superseded => 2,
    };
    let error = |e: E| match e {
        E::Retryable
        | E::LambdaServiceException
        | E::LambdaAwsLambdaException
        | E::LambdaSdkClientException
        | E::LambdaTooManyRequestsException
        | E::LambdaUnknown
        | E::SandboxTimedout
        | E::RuntimeExitError
        | E::StatesTimeout
        | E::StatesAll => 10,
    };
    assert_eq!(V::ALL.len(), verify(V::ALL[0]));
    assert_eq!(R::ALL.len(), review(R::ALL[0]));
    assert_eq!(A::ALL.len(), authority(A::ALL[0]));
    assert_eq!(M::ALL.len(), reminder(M::ALL[0]));
    assert_eq!(E::ALL.len(), error(E::ALL[0]));
}

#[test]
fn every_error_name_matched_is_known_and_every_known_name_is_matched() {
    let mut matched = BTreeSet::new();
    for (name, state) in states(&definition()) {
        for policy in ["Retry", "Catch"] {
            for rule in state[policy].as_array().into_iter().flatten() {
                for error in rule["ErrorEquals"].as_array().unwrap() {
                    let error = error.as_str().unwrap();
                    assert!(
                        ErrorName::parse(error).is_some(),
                        "{name}: {error} has no ErrorName"
                    );
                    matched.insert(error.to_string());
                }
            }
        }
    }
    let known: BTreeSet<String> = ErrorName::ALL.iter().map(|e| name_of(*e)).collect();
    assert_eq!(matched, known);
}

/// Every value a state computes (`key.$` in Parameters, ResultSelector, Payload) is a path or
/// one whole intrinsic call, and no field is empty: a YAML slip (a comma in a flow mapping
/// splits it) fails here rather than in an execution.
#[test]
fn every_computed_value_is_a_path_or_one_intrinsic_call() {
    fn check(state: &str, value: &Value) {
        let Some(fields) = value.as_object() else {
            return;
        };
        for (key, value) in fields {
            assert!(!value.is_null(), "{state}: {key} is empty");
            match (key.strip_suffix(".$"), value.as_str()) {
                (Some(_), Some(expression)) => {
                    let call = expression.starts_with("States.")
                        && expression.ends_with(')')
                        && expression.matches('(').count() == expression.matches(')').count();
                    assert!(
                        expression.starts_with('$') || call,
                        "{state}: {key} = {expression}"
                    );
                }
                (Some(_), None) => panic!("{state}: {key} is not a string"),
                (None, _) => check(state, value),
            }
        }
    }
    for (name, state) in states(&definition()) {
        for field in ["Parameters", "ResultSelector"] {
            check(name, &state[field]);
        }
    }
}

/// Every Task catches what its retries do not cure, or says why not (and what then).
#[test]
fn every_task_has_a_catch_or_says_why_not() {
    for (name, state) in states(&definition()).filter(|(_, s)| s["Type"] == "Task") {
        let says_why = state["Comment"]
            .as_str()
            .is_some_and(|c| c.starts_with("No Catch: "));
        assert!(
            state["Catch"].is_array() != says_why,
            "{name}: a Catch, or a Comment starting \"No Catch: \" (not both)"
        );
    }
}

/// An approval at first review is not given up when the authority stays down past a round of
/// retries: every passing error the forward retries is caught into a wait that forwards again,
/// and only the others (a fault no retry mends) record a failure.
#[test]
fn a_forward_that_outlasts_its_retries_waits_and_forwards_again() {
    let definition = definition();
    let forward = &definition["States"]["ForwardToAuthority"];
    let retried: BTreeSet<&str> = forward["Retry"][0]["ErrorEquals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    let catches = forward["Catch"].as_array().unwrap();
    let later = catches
        .iter()
        .find(|c| c["Next"] == "AwaitForwardRetry")
        .expect("a Catch to AwaitForwardRetry");
    let caught: BTreeSet<&str> = later["ErrorEquals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        caught, retried,
        "every error retried is caught into the next round"
    );
    let failure = catches.iter().position(|c| c["Next"] == "RecordFailure");
    let round = catches
        .iter()
        .position(|c| c["Next"] == "AwaitForwardRetry");
    assert!(round < failure, "the round is matched before States.ALL");
    let wait = &definition["States"]["AwaitForwardRetry"];
    assert_eq!(wait["Type"], "Wait");
    assert_eq!(wait["SecondsPath"], "$.deadlines.applyRetrySeconds");
    assert_eq!(wait["Next"], "ForwardToAuthority");
}

/// A task's `Parameters.Payload` with each JSONPath (`key.$`) filled in as Step Functions would.
fn payload(parameters: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in parameters["Payload"].as_object().expect("a Payload") {
        match key.strip_suffix(".$") {
            Some(key) if value == "$.attempt" => {
                out.insert(key.into(), json!(1));
            }
            Some(key) if value == "$$.State.EnteredTime" => {
                out.insert(key.into(), json!("2026-11-30T10:00:00.123Z"));
            }
            Some(key) => {
                out.insert(key.into(), json!(format!("value of {value}")));
            }
            None => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

fn reads<T: DeserializeOwned>(state: &str, payload: &Value) {
    if let Err(e) = serde_json::from_value::<T>(payload.clone()) {
        panic!(
            "{state}: {payload} is not a {}: {e}",
            std::any::type_name::<T>()
        );
    }
}

#[test]
fn every_task_payload_is_what_its_function_reads() {
    let definition = definition();
    let mut functions = BTreeSet::new();
    for (name, state) in states(&definition).filter(|(_, s)| s["Type"] == "Task") {
        let parameters = &state["Parameters"];
        let function = parameters["FunctionName"].as_str().unwrap();
        let payload = payload(parameters);
        match function {
            "${VerifyPasswordFunctionArn}" => reads::<Attempt>(name, &payload),
            "${ClearRecordFunctionArn}" => reads::<ClearTask>(name, &payload),
            "${FirstReviewFunctionArn}" => reads::<FirstReviewTask>(name, &payload),
            "${ForwardToAuthorityFunctionArn}" => reads::<Wait>(name, &payload),
            "${CloseRequestFunctionArn}" => reads::<CloseTask>(name, &payload),
            other => panic!("{name}: unknown function {other}"),
        }
        let waits = state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken";
        assert_eq!(
            waits,
            payload.get("taskToken").is_some(),
            "{name}: a wait passes its token, and only a wait"
        );
        functions.insert(function.to_string());
    }
    assert_eq!(
        functions.len(),
        5,
        "every step function is called: {functions:?}"
    );
}
