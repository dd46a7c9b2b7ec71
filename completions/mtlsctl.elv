
use builtin;
use str;

set edit:completion:arg-completer[mtlsctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mtlsctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mtlsctl'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ca 'Create and manage the certificate authority'
            cand issue 'Issue a certificate (key, cert and chain written under certs/NAME/)'
            cand list 'List the certificates in the inventory'
            cand show 'Show one certificate from the inventory by name or serial'
            cand inspect 'Describe any certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER)'
            cand revoke 'Revoke a certificate and re-sign its CA''s CRL at once'
            cand crl 'Re-sign every CRL now (cron, before nextUpdate), or export them'
            cand rotate 'New key and certificate with the same identity, for one name or all'
            cand bundle 'Write a PKCS#12 or PEM bundle of a certificate and its key'
            cand verify 'Would this PKI accept a certificate? If not, why (exit 3)'
            cand check 'CI gate: fail (exit 3) when anything expires within the window'
            cand role 'Grant, revoke and list the roles a name holds (gateway allow rules, X-Client-Roles)'
            cand serve 'Run the mTLS gateway from the PKI (identity echo unless --upstream)'
            cand export-config 'Write an nginx, Caddy, Envoy or Traefik config that uses this PKI''s files (docs/export-config.md)'
            cand completions 'Print a shell completion script'
            cand generate-docs 'Regenerate man/ and completions/ under DIR (for maintainers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mtlsctl;ca'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)'
            cand show 'Show the CA generations and their certificates'
            cand rotate 'Start a new CA generation: a new intermediate, or with --root a new root'
            cand retire 'Take an old generation out of service (trust.pem, CRLs)'
            cand set 'Set or clear the CRL or CA certificate URL put in certificates issued from now on'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mtlsctl;ca;init'= {
            cand --name 'The CA''s name; the root and intermediate common names derive from it'
            cand --key-type 'Key type of the CA keys'
            cand --validity 'Validity of the root (the intermediate ends with it)'
            cand --permit-dns 'Permit only this DNS subtree (name constraint; repeatable; .example.com = subdomains only)'
            cand --permit-ip 'Permit only this IP network (name constraint; repeatable)'
            cand --passphrase-file 'Encrypt the CA keys with the passphrase on the first line of FILE'
            cand --crl-url 'Put a CRLDistributionPoint URL/<generation>/<root|intermediate>.crl in every certificate the CAs issue (http:// only; serve it with `serve --crl-listen`)'
            cand --aia-url 'Put an AuthorityInfoAccess caIssuers URL/<generation>/<root|intermediate>.crt in every certificate the CAs issue (http:// only)'
            cand --pki 'The PKI directory'
            cand --single-tier 'Make only a root, which issues leaves itself'
            cand --no-passphrase 'Store the CA keys unencrypted (mode 0600)'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;ca;show'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;ca;rotate'= {
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --root 'Make a new root too (trust.pem then holds the old and the new root)'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;ca;retire'= {
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --force 'Retire even though unexpired, unrevoked certificates still depend on it'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;ca;set'= {
            cand --pki 'The PKI directory'
            cand --clear 'Remove the URL: certificates issued from now on carry no such extension'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;ca;help'= {
            cand init 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)'
            cand show 'Show the CA generations and their certificates'
            cand rotate 'Start a new CA generation: a new intermediate, or with --root a new root'
            cand retire 'Take an old generation out of service (trust.pem, CRLs)'
            cand set 'Set or clear the CRL or CA certificate URL put in certificates issued from now on'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mtlsctl;ca;help;init'= {
        }
        &'mtlsctl;ca;help;show'= {
        }
        &'mtlsctl;ca;help;rotate'= {
        }
        &'mtlsctl;ca;help;retire'= {
        }
        &'mtlsctl;ca;help;set'= {
        }
        &'mtlsctl;ca;help;help'= {
        }
        &'mtlsctl;issue'= {
            cand --profile 'What the certificate is for'
            cand --cn 'Subject common name (default: NAME)'
            cand --org 'Subject organization (O)'
            cand --ou 'Subject organizational unit (OU)'
            cand --dns 'DNS subject alternative name (repeatable)'
            cand --ip 'IP subject alternative name (repeatable)'
            cand --uri 'URI subject alternative name, e.g. a SPIFFE ID (repeatable)'
            cand --email 'Email subject alternative name (repeatable)'
            cand --validity 'Validity (default from mtlsctl.toml: 90d)'
            cand --key-type 'Key type (default from mtlsctl.toml: ecdsa-p256)'
            cand --csr 'Sign this CSR (PEM or DER) instead of making a key; only its public key is used'
            cand --role 'Role for the name, for gateway policies (repeatable; a name issued again after a revocation holds only these; see `mtlsctl role`)'
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;list'= {
            cand --status 'Only certificates with this status'
            cand --expiring-within 'Only certificates that are valid now and expire within DUR'
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;show'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;inspect'= {
            cand --password-file 'PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt)'
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;revoke'= {
            cand --reason 'RFC 5280 reason'
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;crl'= {
            cand --out 'Export instead of re-signing: every current CRL (PEM), or with --der the issuing CA''s CRL'
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --der 'With --out: the current issuing CA''s CRL in DER'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;rotate'= {
            cand --if-expiring-within 'Only certificates that expire within DUR (safe to run nightly)'
            cand --csr 'A new CSR for a certificate issued from a CSR (one name only)'
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --all 'Rotate every current certificate'
            cand --revoke-previous 'Revoke the previous certificate (reason superseded)'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;bundle'= {
            cand --format 'Bundle format'
            cand --out 'Output file (default NAME.p12 or NAME.pem in the current directory; mode 0600)'
            cand --password-file 'PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt)'
            cand --pki 'The PKI directory'
            cand --legacy 'PKCS#12 with 3DES and a SHA-1 MAC, for keystores older than 2020'
            cand --trust 'With --format pem: the trust bundle (trust.pem''s roots) instead of a key and chain'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;verify'= {
            cand --chain 'More intermediates (PEM)'
            cand --usage 'The extended key usage to require'
            cand --route 'Also decide as the gateway would for a request to HOST/PATH: which route it takes and whether its rules let this certificate in (the gateway''s own code, run offline)'
            cand --config 'The gateway config for --route (default: PKI/gateway.toml when it exists, else the built-in catch-all route)'
            cand --pki 'The PKI directory'
            cand --explain 'Print every check, not just the verdict'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;check'= {
            cand --warn 'Fail when anything expires (or a CRL''s nextUpdate falls) within DUR'
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;role'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand grant 'Give NAME these roles (roles it already holds are left as they are)'
            cand revoke 'Take these roles from NAME (roles it does not hold are left as they are)'
            cand list 'List the names holding roles, one line per name'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mtlsctl;role;grant'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;role;revoke'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;role;list'= {
            cand --name 'Only this name (listed even when it holds no role)'
            cand --role 'Only names holding this role (their other roles are shown too)'
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;role;help'= {
            cand grant 'Give NAME these roles (roles it already holds are left as they are)'
            cand revoke 'Take these roles from NAME (roles it does not hold are left as they are)'
            cand list 'List the names holding roles, one line per name'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mtlsctl;role;help;grant'= {
        }
        &'mtlsctl;role;help;revoke'= {
        }
        &'mtlsctl;role;help;list'= {
        }
        &'mtlsctl;role;help;help'= {
        }
        &'mtlsctl;serve'= {
            cand --config 'The gateway config: routes, client auth and allow rules per route, and a key for every flag below (default: PKI/gateway.toml when it exists; docs/gateway.md). A flag given here wins over its key'
            cand --listen 'Address to listen on (port 0 picks a free port; the log says which) [default: 127.0.0.1:8443]'
            cand --admin 'Serve /healthz, /status and /metrics on this loopback address (off by default; port 0 picks a free port, the log says which)'
            cand --upstream 'Where routes that name no upstream send their requests: `echo` (the identity echo, the default) or http://HOST:PORT[/prefix]'
            cand --server-name 'A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1)'
            cand --stale-crl 'What to do when a CRL is past its nextUpdate [default: deny]'
            cand --handshake-timeout 'Deadline for a TLS handshake [default: 10s]'
            cand --header-timeout 'Deadline for a request''s headers [default: 10s]'
            cand --idle-timeout 'Close a connection idle this long [default: 60s]'
            cand --max-header-bytes 'Largest request header block in bytes (431 above it) [default: 65536]'
            cand --max-connections 'Most concurrent connections [default: 4096]'
            cand --upstream-timeout 'Deadline for the upstream''s response headers (504 after it) and longest pause in a response body (the response is aborted after it) [default: 30s]'
            cand --drain-timeout 'How long SIGTERM/SIGINT waits for requests in flight [default: 10s]'
            cand --crl-listen 'Serve the PKI''s CRLs and CA certificates over plain HTTP on this address, at the paths of `ca init --crl-url` (off by default; any address: relying parties fetch from it)'
            cand --workers 'Runtime worker threads (default: one per CPU)'
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --check-config 'Check the gateway config and exit: 0 when it is usable, 7 with the file, line and key of the first problem otherwise (like `nginx -t`)'
            cand --demo 'Make a throwaway PKI with a client certificate, serve it, and print curl commands'
            cand --tls12 'Also accept TLS 1.2 (TLS 1.3 only by default)'
            cand --no-crl-resign 'Never re-sign the CRLs, even when the CA key can be used (a cron job or another host signs them); the log and /status then warn from 7 days before a CRL''s nextUpdate. Without it, serve re-signs each CRL once a third of its lifetime is left whenever it can use the CA key'
            cand --allow-plaintext-upstream 'Allow http:// upstreams beyond loopback (plaintext across the network); without it such an upstream is a config error: use https:// (upstream mTLS) instead'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;export-config'= {
            cand --upstream 'Where the proxy forwards verified requests: http://HOST:PORT, or https://HOST:PORT verified against trust.pem [default: http://127.0.0.1:8080]'
            cand --server-name 'A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1, as `serve`); it is issued, or reused when one exists'
            cand --listen 'Address the proxy listens on [default: 127.0.0.1:8443]'
            cand --out 'Write the config to FILE (atomically) instead of stdout; needed for caddy, whose trusted client certificates go to FILE.leaves/'
            cand --passphrase-file 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)'
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;completions'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;generate-docs'= {
            cand --pki 'The PKI directory'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand -q 'Print nothing on success (errors still go to stderr)'
            cand --quiet 'Print nothing on success (errors still go to stderr)'
            cand -y 'Answer yes to confirmations (for scripts)'
            cand --yes 'Answer yes to confirmations (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mtlsctl;help'= {
            cand ca 'Create and manage the certificate authority'
            cand issue 'Issue a certificate (key, cert and chain written under certs/NAME/)'
            cand list 'List the certificates in the inventory'
            cand show 'Show one certificate from the inventory by name or serial'
            cand inspect 'Describe any certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER)'
            cand revoke 'Revoke a certificate and re-sign its CA''s CRL at once'
            cand crl 'Re-sign every CRL now (cron, before nextUpdate), or export them'
            cand rotate 'New key and certificate with the same identity, for one name or all'
            cand bundle 'Write a PKCS#12 or PEM bundle of a certificate and its key'
            cand verify 'Would this PKI accept a certificate? If not, why (exit 3)'
            cand check 'CI gate: fail (exit 3) when anything expires within the window'
            cand role 'Grant, revoke and list the roles a name holds (gateway allow rules, X-Client-Roles)'
            cand serve 'Run the mTLS gateway from the PKI (identity echo unless --upstream)'
            cand export-config 'Write an nginx, Caddy, Envoy or Traefik config that uses this PKI''s files (docs/export-config.md)'
            cand completions 'Print a shell completion script'
            cand generate-docs 'Regenerate man/ and completions/ under DIR (for maintainers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mtlsctl;help;ca'= {
            cand init 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)'
            cand show 'Show the CA generations and their certificates'
            cand rotate 'Start a new CA generation: a new intermediate, or with --root a new root'
            cand retire 'Take an old generation out of service (trust.pem, CRLs)'
            cand set 'Set or clear the CRL or CA certificate URL put in certificates issued from now on'
        }
        &'mtlsctl;help;ca;init'= {
        }
        &'mtlsctl;help;ca;show'= {
        }
        &'mtlsctl;help;ca;rotate'= {
        }
        &'mtlsctl;help;ca;retire'= {
        }
        &'mtlsctl;help;ca;set'= {
        }
        &'mtlsctl;help;issue'= {
        }
        &'mtlsctl;help;list'= {
        }
        &'mtlsctl;help;show'= {
        }
        &'mtlsctl;help;inspect'= {
        }
        &'mtlsctl;help;revoke'= {
        }
        &'mtlsctl;help;crl'= {
        }
        &'mtlsctl;help;rotate'= {
        }
        &'mtlsctl;help;bundle'= {
        }
        &'mtlsctl;help;verify'= {
        }
        &'mtlsctl;help;check'= {
        }
        &'mtlsctl;help;role'= {
            cand grant 'Give NAME these roles (roles it already holds are left as they are)'
            cand revoke 'Take these roles from NAME (roles it does not hold are left as they are)'
            cand list 'List the names holding roles, one line per name'
        }
        &'mtlsctl;help;role;grant'= {
        }
        &'mtlsctl;help;role;revoke'= {
        }
        &'mtlsctl;help;role;list'= {
        }
        &'mtlsctl;help;serve'= {
        }
        &'mtlsctl;help;export-config'= {
        }
        &'mtlsctl;help;completions'= {
        }
        &'mtlsctl;help;generate-docs'= {
        }
        &'mtlsctl;help;help'= {
        }
    ]
    $completions[$command]
}
