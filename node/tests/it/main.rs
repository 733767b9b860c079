//! Integration tests of linli-node: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod util;

// The local HTTP API: tokens, bad requests, calls, read routes, metrics.
mod api;
// The `linli` binary end to end, error paths and exit codes.
mod cli;

// Data at rest: file modes of the data directory and export files; no token in the logs.
#[cfg(unix)]
mod at_rest;
// A node restored from a backup copy; equivocation flagged at node level.
mod backup;
// The batched receive path decides, stores and applies as one change at a time.
mod batch;
// Seeded chaos run: random operations, partitions and restarts; agreement and invariants.
mod chaos;
// Covered changes: the signatures a store keeps, covered changes served and received.
mod cover;
// Crash loop with a child process killed by SIGKILL.
mod crash;
// The district demo (six nodes on loopback).
mod demo;
// Check-in sessions: the check-in page, verified hours, offline then synced.
mod checkin;
// Documents evicted from memory load back on use; the [store] settings.
mod evict;
// Events delivered to subscribers.
mod events;
// Export to a file and import into a fresh node.
mod export;
// Fast join: snapshots usable at once, verified later; crafted ones rolled back, source dropped.
mod fastjoin;
// CSV import of service records: batched, idempotent, right line numbers.
mod import;
// Roster import (CSV, locally and through the daemon) and the volunteer reports' CSV.
mod roster;
// Every committed fuzz seed and regression input, replayed through the fuzz targets' bodies.
mod fuzz_replay;
// Joining with a code: invite, join, used, expired and forged codes.
mod join;
// Hostile peers speaking raw bytes on the sync protocol.
mod hostile;
// An office install: backup while writing, checked restore, systemd units, calendar feeds.
mod office;
// Offices behind NAT in network namespaces: AutoNAT, a relay reservation, sync over it.
mod nat;
// Duty rotas and activity sign-ups through the request path.
mod rotas;
// Issue 20 by the binary: rotas by name with bad input refused; the clerk's volunteer day.
mod volunteer_day;
// Networking on loopback: sync on connect, live announcements, refusals.
mod net;
// Personal data over real sync: only its audience stores it, in any file; erasure.
mod personal;
// The per-signer write quota on received changes; the node's own writes are not limited.
mod quota;
// Stored status of changes: accepted, pending, refused with reasons.
mod refusals;
// Start-up from snapshots plus the log tail.
mod restore;
// The store: reopen, bad files, locking, disk full, snapshots.
mod store;
// Points: the points store with stock, the star certificate, team claims (CLI requests over HTTP).
mod points;
// Refusals linli-core withdraws (refused → accepted, refused → pending), live and reopened.
mod withdrawals;
// The layout enforces itself: no import cycle in core, kinds named only where listed, JSON rows in one place.
mod tidy;
