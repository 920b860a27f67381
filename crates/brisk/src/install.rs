//! [`Install`]: the one seam through which a battery (the ORM, auth, the admin ...) plugs into
//! an [`App`]. Whatever a battery does to an app, it does here, with the app's public builder
//! methods: add state, routes, layers, startup and shutdown hooks. The core names no battery.

use crate::App;

/// Something an app installs with [`App::install`], as Django lists an app in `INSTALLED_APPS`.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::Install;
///
/// /// A battery that serves its own health route and shares a counter.
/// struct Health;
///
/// impl Install for Health {
///     fn install(self, app: App) -> App {
///         app.route("/healthz", get(|| async { "ok" })).with_state(std::sync::Arc::new(0u64))
///     }
/// }
///
/// let app = App::new().install(Health);
/// ```
pub trait Install {
    /// Adds this battery's routes, state, layers and hooks to `app`.
    fn install(self, app: App) -> App;
}

impl App {
    /// Installs a battery: see [`Install`].
    pub fn install(self, battery: impl Install) -> Self {
        battery.install(self)
    }
}
