//! Model picker timing: `:ZenModel` until `vim.ui.select`, with the catalogue cached on disk,
//! from a fresh backend and from a warm one.

use crate::support::{catalogue_reply, FakeServer, Nvim, Start};
use crate::PICKER_RUNS;

/// `:ZenModel` until `vim.ui.select` is called, with the catalogue cached on disk.
pub struct Picker {
    /// A fresh Neovim: starts the backend, reads the disk cache, builds the rows.
    pub cold_ms: Vec<f64>,
    /// The backend already holds the catalogue.
    pub warm_ms: Vec<f64>,
    pub rows: usize,
}

/// Records when `vim.ui.select` is reached and how many rows it got.
const PICKER_CAPTURE: &str = r#"
  vim.ui.select = function(items, opts, cb)
    _G.picker_rows = #vim.tbl_map(opts.format_item, items) - 1 -- the header row
    _G.picker_t1 = vim.loop.hrtime()
    cb(nil)
  end
"#;

async fn open_picker(nv: &Nvim) -> (f64, usize) {
    nv.lua("_G.picker_t1 = nil _G.picker_t0 = vim.loop.hrtime() vim.cmd('ZenModel')")
        .await;
    nv.wait_for("_G.picker_t1", 20).await;
    let ms = nv
        .lua("return (_G.picker_t1 - _G.picker_t0) / 1e6")
        .await
        .as_f64()
        .unwrap_or(f64::NAN);
    let rows = nv.lua("return _G.picker_rows").await.as_u64().unwrap_or(0) as usize;
    (ms, rows)
}

pub async fn picker() -> Picker {
    let server = FakeServer::start().await;
    server.route("GET", "/api/v1/models", catalogue_reply());
    let home = tempfile::tempdir().expect("temp dir");
    let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
    nv.lua(PICKER_CAPTURE).await;
    open_picker(&nv).await; // fetches once and caches on disk
    nv.quit().await;
    let (mut cold_ms, mut warm_ms, mut rows) = (vec![], vec![], 0);
    for _ in 0..PICKER_RUNS {
        let nv = Nvim::start(Start::new(home.path(), &server.base_url())).await;
        nv.lua(PICKER_CAPTURE).await;
        let (cold, n) = open_picker(&nv).await;
        cold_ms.push(cold);
        rows = n;
        let (warm, _) = open_picker(&nv).await;
        warm_ms.push(warm);
        nv.quit().await;
    }
    assert_eq!(
        server.requests_to("/api/v1/models").len(),
        1,
        "every opening after the first used the cache"
    );
    Picker {
        cold_ms,
        warm_ms,
        rows,
    }
}
