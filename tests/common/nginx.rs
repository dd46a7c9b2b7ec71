//! nginx (Debian's `/usr/sbin/nginx`, package nginx-light) as a real TLS
//! server in the tests: a master process in the foreground with its own
//! prefix and free loopback ports, stopped (SIGTERM, then SIGKILL) on drop
//! so a failing test leaves no server behind.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::Env;
use super::process::Res;

pub const NGINX: &str = "/usr/sbin/nginx";

pub struct Nginx {
    child: Child,
    pub dir: PathBuf,
    /// The free ports handed to the `servers` text, in order.
    pub ports: Vec<u16>,
}

impl Nginx {
    /// nginx with `servers(ports)` inside its `http {}` block, given
    /// `count` free loopback ports; waits until each of them listens.
    pub fn start(env: &Env, count: usize, servers: impl Fn(&[u16]) -> String) -> Res<Nginx> {
        if !Path::new(NGINX).is_file() {
            return Err(format!(
                "{NGINX} not found: .ci/run installs it (apt-get install nginx-light)"
            )
            .into());
        }
        let dir = env.path("nginx");
        std::fs::create_dir_all(&dir)?;
        let ports = (0..count)
            .map(|_| Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()))
            .collect::<Res<Vec<u16>>>()?;
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let user = if root { "user root;\n" } else { "" };
        let d = dir.display();
        let conf = format!(
            "{user}worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    \
             client_body_temp_path {d}/client_body;\n    proxy_temp_path {d}/proxy;\n    \
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    \
             scgi_temp_path {d}/scgi;\n{}}}\n",
            servers(&ports),
        );
        std::fs::write(dir.join("nginx.conf"), conf)?;
        let child = Command::new(NGINX)
            .args(Self::base_args(&dir))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("stderr.log"))?))
            .spawn()
            .map_err(|e| format!("cannot run {NGINX}: {e} (apt-get install nginx-light)"))?;
        let mut nginx = Nginx { child, dir, ports };
        nginx.wait_listening(Duration::from_secs(10))?;
        Ok(nginx)
    }

    fn base_args(dir: &Path) -> Vec<String> {
        vec![
            "-p".into(),
            format!("{}/", dir.display()),
            "-c".into(),
            dir.join("nginx.conf").display().to_string(),
        ]
    }

    /// Its stderr and error log.
    pub fn logs(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }

    fn wait_listening(&mut self, limit: Duration) -> Res<()> {
        let deadline = Instant::now() + limit;
        for &port in &self.ports {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            loop {
                if let Some(status) = self.child.try_wait()? {
                    return Err(format!("nginx exited ({status}):\n{}", self.logs()).into());
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "nginx did not listen on {addr} within {limit:?}:\n{}",
                        self.logs()
                    )
                    .into());
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// `nginx -s reload`: the master re-reads the config, certificates and
    /// CRL file and starts new workers; then a moment for them to take over.
    pub fn reload(&self) -> Res<()> {
        let out = Command::new(NGINX)
            .args(Self::base_args(&self.dir))
            .args(["-s", "reload"])
            .output()?;
        if !out.status.success() {
            return Err(format!("nginx -s reload: {out:?}\n{}", self.logs()).into());
        }
        thread::sleep(Duration::from_millis(500));
        Ok(())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL only as a last
        // resort (it would orphan them).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
