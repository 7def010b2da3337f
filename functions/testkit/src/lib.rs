//! Test doubles behind the domain's ports, and the one store suite that both the in-memory
//! store and the DynamoDB store must pass (so the double cannot drift from the real thing).

pub mod fakes;
pub mod memory;
pub mod store_contract;
pub mod world;
