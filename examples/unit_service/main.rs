//! A co-building unit's own service that embeds linli.
//!
//! A power company co-built a community activity room with community Dianye. Its service
//! opens (or, on the first run, initialises) its own linli node with its own key and a
//! certificate issued by Dianye, starts networking, publishes the room, and then reacts to
//! booking requests arriving over the network: it confirms or rejects each one by the
//! unit's own rule (at most 30 attendees, only while its staff are on duty, Monday to
//! Friday 09:00–18:00), giving the reason with every rejection.
//!
//! To run standalone, the example builds a small district on loopback: a root (in memory)
//! and Dianye's node, which certifies the unit, connects to it and requests three bookings.
//! It stops by itself once Dianye's node has seen every answer.
//!
//! ```sh
//! cargo run --example unit_service            # everything in a temporary directory
//! cargo run --example unit_service -- DIR      # keep the unit's node in DIR (reopened next run)
//! ```
//!
//! The logic lives in `logic.rs`, which the facade's integration tests run as well.

mod logic;

use std::path::PathBuf;

use anyhow::Result;
use linli::core::identity::node_id_to_base32;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let arg = std::env::args_os().nth(1);
    if arg
        .as_ref()
        .is_some_and(|a| a.to_string_lossy().starts_with('-'))
    {
        println!("usage: unit_service [DATA_DIR]   (default: a temporary directory)");
        return Ok(());
    }
    println!("linli unit service — State Grid's co-built activity room in Dianye community\n");
    let out = logic::run(arg.map(PathBuf::from)).await?;
    logic::print_answers(&out);
    let (confirmed, rejected): (Vec<_>, Vec<_>) =
        out.decided.iter().partition(|d| d.outcome.is_ok());
    let ids = |ds: Vec<&logic::Decided>| {
        ds.iter()
            .map(|d| d.booking.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\nUnit {} ({} node) decided {} requests on room {}: confirmed [{}], rejected [{}].",
        node_id_to_base32(&out.unit),
        if out.fresh { "new" } else { "reopened" },
        out.decided.len(),
        out.room.short(),
        ids(confirmed),
        ids(rejected),
    );
    Ok(())
}
