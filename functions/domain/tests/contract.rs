//! The state machine's definition (`statemachine/request.asl.yaml`) against the Rust contract
//! (`icp_domain::contract`): every value a Choice routes on is an outcome the functions answer,
//! every outcome is routed, every error name Retry or Catch matches is a known one and each is
//! used, and every task's payload is what its function reads. A rename on either side breaks
//! this test, not a request.

use icp_domain::contract::{
    Attempt, AuthorityOutcome, CloseTask, ErrorName, FirstReviewTask, ReminderOutcome,
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

/// The one Choice rule that is not an outcome's: a waiting round's wait against its cap.
const CAP_RULE: (&str, &str, &str) = (
    "$.rounds.waitSeconds",
    "NumericGreaterThanPath",
    "$.rounds.maxWaitSeconds",
);

/// The variable `ResumeRound` routes on: the step a waiting round resumes, which the
/// definition itself names (checked by `every_step_that_waits_a_round_is_resumed`).
const RESUME: &str = "$.resume";

/// The values the definition's Choice rules compare each variable with.
fn choice_values(definition: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, state) in states(definition).filter(|(_, s)| s["Type"] == "Choice") {
        for rule in state["Choices"].as_array().unwrap() {
            let variable = rule["Variable"].as_str().unwrap_or_else(|| {
                panic!("{name}: every rule compares one variable (no And/Or/Not): {rule}")
            });
            // Whether the rounds' clock started: the one presence test.
            if (variable, &rule["IsPresent"]) == ("$.rounds", &json!(true)) {
                continue;
            }
            let (counter, comparison, bound) = CAP_RULE;
            if variable == counter {
                assert_eq!(rule[comparison], bound, "{name}: {rule}");
                continue;
            }
            if variable == RESUME {
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
        ("$.verified.outcome", names(&VerifyOutcome::ALL)),
        ("$.review.decision", names(&ReviewOutcome::ALL)),
        ("$.authority.decision", names(&AuthorityOutcome::ALL)),
        ("$.reminder.outcome", names(&ReminderOutcome::ALL)),
    ]
    .into_iter()
    .map(|(variable, values)| (variable.to_string(), values))
    .collect();
    assert_eq!(choice_values(&definition()), expected);
}

/// Every `$.verified.deadlines.*` the definition reads (waits, timeouts) is a field
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
        .split("$.verified.deadlines.")
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

/// The states a state leads to: its Next, Default, Choices and Catches. A `<Step>Later` state
/// leads (through the waiting round, which resumes the step it names) back to its step only.
fn successors(definition: &Value, name: &str) -> Vec<String> {
    let state = &definition["States"][name];
    if let Some(step) = name.strip_suffix("Later") {
        return vec![step.to_string()];
    }
    let mut next: Vec<String> = ["Next", "Default"]
        .iter()
        .filter_map(|k| state[*k].as_str().map(String::from))
        .collect();
    for list in ["Choices", "Catch"] {
        for rule in state[list].as_array().into_iter().flatten() {
            next.push(rule["Next"].as_str().unwrap().to_string());
        }
    }
    next
}

/// A passing failure never ends a request: every task that retries passing errors catches them
/// (all of them) into its `<Task>Later`, which names the task for the round to resume; and
/// `ResumeRound` resumes exactly the steps that wait rounds, each by its own name.
#[test]
fn every_step_that_waits_a_round_is_resumed() {
    let definition = definition();
    let passing: BTreeSet<&str> = definition["States"]["VerifyPassword"]["Retry"][0]["ErrorEquals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    let mut waiting = BTreeSet::new();
    for (name, state) in states(&definition).filter(|(_, s)| s["Type"] == "Task") {
        if name == "CountRound" {
            continue;
        }
        let later = format!("{name}Later");
        let catch = state["Catch"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["Next"] == later.as_str())
            .unwrap_or_else(|| panic!("{name}: a Catch into {later}"));
        let caught: BTreeSet<&str> = catch["ErrorEquals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(
            caught == passing || caught == BTreeSet::from(["States.ALL"]),
            "{name}: every passing error waits a round: {caught:?}"
        );
        let round = &definition["States"][&later];
        assert_eq!(round["Result"], name.as_str(), "{later} names its step");
        assert_eq!(round["ResultPath"], RESUME);
        assert_eq!(round["Next"], "RoundsStarted");
        waiting.insert(name.clone());
    }
    let resumed: BTreeSet<String> = definition["States"]["ResumeRound"]["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            assert_eq!(rule["Variable"], RESUME);
            assert_eq!(
                rule["StringEquals"], rule["Next"],
                "resumed by its own name"
            );
            rule["Next"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(resumed, waiting);
}

/// A state a waiting round resumes is entered again, with a new `$$.State.EnteredTime`: only a
/// wait may take it (each entry is a new wait, with a new token). What tells an escalation's
/// notices apart comes from the input, kept where it began, so the reviewers told before the
/// round are not told again.
#[test]
fn a_state_a_round_resumes_is_the_same_occasion_again() {
    let definition = definition();
    let resumed: Vec<String> = definition["States"]["ResumeRound"]["Choices"]
        .as_array()
        .expect("ResumeRound's choices")
        .iter()
        .map(|rule| rule["Next"].as_str().unwrap().to_string())
        .collect();
    assert!(
        resumed.iter().any(|name| name == "FirstReviewOverdue"),
        "{resumed:?}"
    );
    for name in &resumed {
        let state = &definition["States"][name.as_str()];
        let waits = state["Resource"]
            .as_str()
            .is_some_and(|r| r.ends_with(".waitForTaskToken"));
        for (key, value) in state["Parameters"]["Payload"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if value == "$$.State.EnteredTime" {
                assert!(
                    waits && key == "enteredAt.$",
                    "{name}: {key} would change when a round resumes it"
                );
            }
        }
    }
}

/// From the reviewer's approval on, nothing leads to `failed`: every path from the forward to
/// the authority ends in Done, waiting rounds for as long as it takes.
#[test]
fn no_path_after_an_approval_records_a_failure() {
    let definition = definition();
    let mut seen = BTreeSet::new();
    let mut next = vec!["ForwardToAuthority".to_string()];
    while let Some(name) = next.pop() {
        if seen.insert(name.clone()) {
            next.extend(successors(&definition, &name));
        }
    }
    assert!(
        seen.contains("ClearRecord") && seen.contains("Done"),
        "{seen:?}"
    );
    for failing in ["RecordFailure", "Failed", "Unexpected"] {
        assert!(!seen.contains(failing), "{failing} is reachable: {seen:?}");
    }
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
    let invokes = |s: &Value| {
        s["Type"] == "Task"
            && s["Resource"]
                .as_str()
                .is_some_and(|r| r.starts_with("arn:aws:states:::lambda:"))
    };
    for (name, state) in states(&definition).filter(|(_, s)| invokes(s)) {
        let parameters = &state["Parameters"];
        let function = parameters["FunctionName"].as_str().unwrap();
        let payload = payload(parameters);
        match function {
            "${VerifyPasswordFunctionArn}" => reads::<Attempt>(name, &payload),
            "${ClearRecordFunctionArn}" => reads::<Attempt>(name, &payload),
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
