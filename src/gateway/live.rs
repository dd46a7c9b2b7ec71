//! What the gateway serves with: one snapshot and the TLS config built
//! from it, made in one place and swapped together (by `run` at start and
//! by the reload thread after).

use std::collections::HashMap;
use std::sync::Arc;

use rustls::ServerConfig;

use crate::gateway::config::{GatewayError, GatewayOptions};
use crate::gateway::routing::Routing;
use crate::gateway::tls;
use crate::gateway::upstream_tls::Under;
use crate::pki::snapshot::{ServerCredential, Snapshot, SnapshotError, Source};

/// What the gateway serves with: one snapshot and the TLS config built
/// from it, swapped together.
pub struct Live {
    /// The PKI view.
    pub snapshot: Arc<Snapshot>,
    /// The TLS server configuration for new connections.
    pub tls: Arc<ServerConfig>,
    /// The routes in service (kept across reloads while the config is
    /// unchanged or fails to load).
    pub routing: Arc<Routing>,
    /// Reload generation (1 at start).
    pub generation: u64,
    /// The client certificates presented to https upstreams, by
    /// inventory name: those the routing names, loaded with the snapshot
    /// so that a renewed one is used from the next connection.
    pub upstream_credentials: HashMap<String, ServerCredential>,
}

/// Loads the snapshot and builds the TLS config: the one way a `Live` is made.
pub fn build_live(
    source: &Source,
    options: &GatewayOptions,
    routing: Arc<Routing>,
    generation: u64,
) -> Result<Live, GatewayError> {
    let snapshot = Arc::new(source.load()?);
    let certificate_optional = routing.policy.certificate_optional();
    let tls = tls::server_config(snapshot.clone(), options.tls, certificate_optional)?;
    let upstream_credentials = routing
        .client_cert_names()
        .into_iter()
        .map(|name| Ok((name.to_owned(), source.client_credential(name)?)))
        .collect::<Result<_, SnapshotError>>()?;
    Ok(Live {
        snapshot,
        tls,
        routing,
        generation,
        upstream_credentials,
    })
}

impl Live {
    /// What a new upstream connection is made under.
    pub fn under(&self) -> Under<'_> {
        Under {
            generation: self.generation,
            snapshot: &self.snapshot,
            credentials: &self.upstream_credentials,
        }
    }
}

impl crate::gateway::standing::InService for arc_swap::ArcSwap<Live> {
    fn snapshot(&self) -> Arc<Snapshot> {
        self.load().snapshot.clone()
    }
}
