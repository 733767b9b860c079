//! The local HTTP API of the daemon (`linli run`), and the small client the CLI uses.
//!
//! The server ([`serve`]) binds to 127.0.0.1 by default; every route requires
//! `Authorization: Bearer <token>` (the token is written to `<dir>/api.token`, mode 0600,
//! and the bound address to `<dir>/api.addr` by `linli run`), except the web dashboard's
//! static files (`/`, `/index.html`, `/dashboard.js`, `/dashboard.css`, `/favicon.ico`, from
//! `dashboard/`, embedded in the binary), which hold no data: the page reads the token from
//! its URL fragment (`http://127.0.0.1:PORT/#token=…`, which `linli run` writes to
//! `<dir>/dashboard.url`, mode 0600, and prints only to a terminal, never to the logs) and
//! sends it with every request. Errors are JSON `{"error": "...", "kind": "..."}`.
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/v1/call` | a [`Request`](crate::ops::Request) as JSON → its result (400 malformed, 404 unknown id, 403 unauthorized, 409 conflict, 422 invalid: the error table `ops::CLASSES`) |
//! | `GET /api/v1/status` | identity, documents, changes, pending, refused, peers |
//! | `GET /api/v1/catalogue` | what this node may do: role and scope, every operation with its fields' schemas, who may perform it and the documents it may perform it on here, the documents it may create |
//! | `GET /api/v1/documents` | documents held |
//! | `GET /api/v1/bookings?doc=` | bookings of a resource |
//! | `GET /api/v1/leaderboard?doc=&team=` | leaderboard of a ledger |
//! | `GET /api/v1/balances` | every volunteer's earned points and balance |
//! | `GET /api/v1/compounds?doc=&year=` | compounds with appointment and score |
//! | `GET /api/v1/wishes?doc=` | wishes with status |
//! | `GET /api/v1/volunteers?doc=` | the volunteer registry |
//! | `GET /api/v1/resources` | rooms and kitchens held |
//! | `GET /api/v1/orders?doc=&date=` | a kitchen's orders of one service day |
//! | `GET /api/v1/peers` | peers and their sync state |
//! | `GET /api/v1/rejected` | refused changes |
//! | `GET /api/v1/openapi.json` | the OpenAPI 3 description of these routes |
//! | `GET /metrics` | Prometheus text: documents, changes (accepted, pending, rejected), store size, peers, sync sessions, bytes, changes applied and refused by sync, dropped peers, announcements |
//! | `GET /` | the web dashboard (no token) |
//!
//! The client ([`ApiClient`]) speaks plain HTTP/1.1 over a tokio `TcpStream`.

mod client;
pub mod schema;
mod server;

pub use client::{ApiClient, ApiError, HttpResponse};
pub use server::{
    ADDR_FILE, ApiServer, DASHBOARD_FILE, ServeError, random_token, serve, write_private,
};
