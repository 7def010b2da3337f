//! Seeds the running local stack (the one `.local/stack.json` describes) and prints what it
//! seeded as JSON:
//!
//! - `icp-seed demo`: the demo customers and reviewer (kept if already there), as
//!   `.local/demo.json` holds them;
//! - `icp-seed load COUNT PER_ENTITY PASSWORD`: COUNT fresh websites for `make bench`,
//!   `[{"websiteId", "token"}]`;
//! - `icp-seed console COUNT`: COUNT fresh customers and the reviewers for the browser test.

use e2e::seed::{self, Deployed};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let deployed = Deployed::read().await;
    let seeded = match args.as_slice() {
        ["demo"] => seed::demo(&deployed).await,
        ["load", count, per_entity, password] => {
            let number = |s: &str| s.parse().unwrap_or_else(|_| usage());
            seed::load(&deployed, number(count), number(per_entity), password).await
        }
        ["console", count] => {
            seed::console(&deployed, count.parse().unwrap_or_else(|_| usage())).await
        }
        _ => usage(),
    };
    println!("{}", serde_json::to_string_pretty(&seeded).unwrap());
}

fn usage() -> ! {
    eprintln!(
        "usage: icp-seed demo | icp-seed load COUNT PER_ENTITY PASSWORD | icp-seed console COUNT"
    );
    std::process::exit(2)
}
