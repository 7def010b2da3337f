//! The working-day calendar from the stack's calendar table (`CALENDAR_TABLE`): one item per
//! year, `schedule` holding the year as `infra/calendar/load.py` wrote it. Read once per cold
//! start.

use crate::aws;
use crate::Error;
use icp_domain::calendar::{WorkingCalendar, YearSchedule};

pub async fn load(config: &aws_config::SdkConfig) -> Result<WorkingCalendar, Error> {
    let table = aws::env("CALENDAR_TABLE")?;
    let items = aws_sdk_dynamodb::Client::new(config)
        .scan()
        .table_name(&table)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            format!(
                "reading the calendar {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
    let years = items
        .iter()
        .map(|item| {
            let text = item
                .get("schedule")
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| format!("{table}: an item without its schedule"))?;
            serde_json::from_str::<YearSchedule>(text)
                .map_err(|e| format!("{table}: a schedule that does not parse: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WorkingCalendar::new(&years)?)
}
