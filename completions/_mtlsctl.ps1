
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mtlsctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mtlsctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'mtlsctl' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ca', 'ca', [CompletionResultType]::ParameterValue, 'Create and manage the certificate authority')
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Issue a certificate (key, cert and chain written under certs/NAME/)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the certificates in the inventory')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one certificate from the inventory by name or serial')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Describe any certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a certificate and re-sign its CA''s CRL at once')
            [CompletionResult]::new('crl', 'crl', [CompletionResultType]::ParameterValue, 'Re-sign every CRL now (cron, before nextUpdate), or export them')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'New key and certificate with the same identity, for one name or all')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Write a PKCS#12 or PEM bundle of a certificate and its key')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Would this PKI accept a certificate? If not, why (exit 3)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'CI gate: fail (exit 3) when anything expires within the window')
            [CompletionResult]::new('role', 'role', [CompletionResultType]::ParameterValue, 'Grant, revoke and list the roles a name holds (gateway allow rules, X-Client-Roles)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the mTLS gateway from the PKI (identity echo unless --upstream)')
            [CompletionResult]::new('export-config', 'export-config', [CompletionResultType]::ParameterValue, 'Write an nginx, Caddy, Envoy or Traefik config that uses this PKI''s files (docs/export-config.md)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Regenerate man/ and completions/ under DIR (for maintainers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mtlsctl;ca' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the CA generations and their certificates')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Start a new CA generation: a new intermediate, or with --root a new root')
            [CompletionResult]::new('retire', 'retire', [CompletionResultType]::ParameterValue, 'Take an old generation out of service (trust.pem, CRLs)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set or clear the CRL or CA certificate URL put in certificates issued from now on')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mtlsctl;ca;init' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The CA''s name; the root and intermediate common names derive from it')
            [CompletionResult]::new('--key-type', '--key-type', [CompletionResultType]::ParameterName, 'Key type of the CA keys')
            [CompletionResult]::new('--validity', '--validity', [CompletionResultType]::ParameterName, 'Validity of the root (the intermediate ends with it)')
            [CompletionResult]::new('--permit-dns', '--permit-dns', [CompletionResultType]::ParameterName, 'Permit only this DNS subtree (name constraint; repeatable; .example.com = subdomains only)')
            [CompletionResult]::new('--permit-ip', '--permit-ip', [CompletionResultType]::ParameterName, 'Permit only this IP network (name constraint; repeatable)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Encrypt the CA keys with the passphrase on the first line of FILE')
            [CompletionResult]::new('--crl-url', '--crl-url', [CompletionResultType]::ParameterName, 'Put a CRLDistributionPoint URL/<generation>/<root|intermediate>.crl in every certificate the CAs issue (http:// only; serve it with `serve --crl-listen`)')
            [CompletionResult]::new('--aia-url', '--aia-url', [CompletionResultType]::ParameterName, 'Put an AuthorityInfoAccess caIssuers URL/<generation>/<root|intermediate>.crt in every certificate the CAs issue (http:// only)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--single-tier', '--single-tier', [CompletionResultType]::ParameterName, 'Make only a root, which issues leaves itself')
            [CompletionResult]::new('--no-passphrase', '--no-passphrase', [CompletionResultType]::ParameterName, 'Store the CA keys unencrypted (mode 0600)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;ca;show' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;ca;rotate' {
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Make a new root too (trust.pem then holds the old and the new root)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;ca;retire' {
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Retire even though unexpired, unrevoked certificates still depend on it')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;ca;set' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--clear', '--clear', [CompletionResultType]::ParameterName, 'Remove the URL: certificates issued from now on carry no such extension')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;ca;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the CA generations and their certificates')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Start a new CA generation: a new intermediate, or with --root a new root')
            [CompletionResult]::new('retire', 'retire', [CompletionResultType]::ParameterValue, 'Take an old generation out of service (trust.pem, CRLs)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set or clear the CRL or CA certificate URL put in certificates issued from now on')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mtlsctl;ca;help;init' {
            break
        }
        'mtlsctl;ca;help;show' {
            break
        }
        'mtlsctl;ca;help;rotate' {
            break
        }
        'mtlsctl;ca;help;retire' {
            break
        }
        'mtlsctl;ca;help;set' {
            break
        }
        'mtlsctl;ca;help;help' {
            break
        }
        'mtlsctl;issue' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'What the certificate is for')
            [CompletionResult]::new('--cn', '--cn', [CompletionResultType]::ParameterName, 'Subject common name (default: NAME)')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Subject organization (O)')
            [CompletionResult]::new('--ou', '--ou', [CompletionResultType]::ParameterName, 'Subject organizational unit (OU)')
            [CompletionResult]::new('--dns', '--dns', [CompletionResultType]::ParameterName, 'DNS subject alternative name (repeatable)')
            [CompletionResult]::new('--ip', '--ip', [CompletionResultType]::ParameterName, 'IP subject alternative name (repeatable)')
            [CompletionResult]::new('--uri', '--uri', [CompletionResultType]::ParameterName, 'URI subject alternative name, e.g. a SPIFFE ID (repeatable)')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Email subject alternative name (repeatable)')
            [CompletionResult]::new('--validity', '--validity', [CompletionResultType]::ParameterName, 'Validity (default from mtlsctl.toml: 90d)')
            [CompletionResult]::new('--key-type', '--key-type', [CompletionResultType]::ParameterName, 'Key type (default from mtlsctl.toml: ecdsa-p256)')
            [CompletionResult]::new('--csr', '--csr', [CompletionResultType]::ParameterName, 'Sign this CSR (PEM or DER) instead of making a key; only its public key is used')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Role for the name, for gateway policies (repeatable; a name issued again after a revocation holds only these; see `mtlsctl role`)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;list' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only certificates with this status')
            [CompletionResult]::new('--expiring-within', '--expiring-within', [CompletionResultType]::ParameterName, 'Only certificates that are valid now and expire within DUR')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;show' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;inspect' {
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;revoke' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'RFC 5280 reason')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;crl' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Export instead of re-signing: every current CRL (PEM), or with --der the issuing CA''s CRL')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--der', '--der', [CompletionResultType]::ParameterName, 'With --out: the current issuing CA''s CRL in DER')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;rotate' {
            [CompletionResult]::new('--if-expiring-within', '--if-expiring-within', [CompletionResultType]::ParameterName, 'Only certificates that expire within DUR (safe to run nightly)')
            [CompletionResult]::new('--csr', '--csr', [CompletionResultType]::ParameterName, 'A new CSR for a certificate issued from a CSR (one name only)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Rotate every current certificate')
            [CompletionResult]::new('--revoke-previous', '--revoke-previous', [CompletionResultType]::ParameterName, 'Revoke the previous certificate (reason superseded)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;bundle' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Bundle format')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Output file (default NAME.p12 or NAME.pem in the current directory; mode 0600)')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--legacy', '--legacy', [CompletionResultType]::ParameterName, 'PKCS#12 with 3DES and a SHA-1 MAC, for keystores older than 2020')
            [CompletionResult]::new('--trust', '--trust', [CompletionResultType]::ParameterName, 'With --format pem: the trust bundle (trust.pem''s roots) instead of a key and chain')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;verify' {
            [CompletionResult]::new('--chain', '--chain', [CompletionResultType]::ParameterName, 'More intermediates (PEM)')
            [CompletionResult]::new('--usage', '--usage', [CompletionResultType]::ParameterName, 'The extended key usage to require')
            [CompletionResult]::new('--route', '--route', [CompletionResultType]::ParameterName, 'Also decide as the gateway would for a request to HOST/PATH: which route it takes and whether its rules let this certificate in (the gateway''s own code, run offline)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The gateway config for --route (default: PKI/gateway.toml when it exists, else the built-in catch-all route)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--explain', '--explain', [CompletionResultType]::ParameterName, 'Print every check, not just the verdict')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;check' {
            [CompletionResult]::new('--warn', '--warn', [CompletionResultType]::ParameterName, 'Fail when anything expires (or a CRL''s nextUpdate falls) within DUR')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;role' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('grant', 'grant', [CompletionResultType]::ParameterValue, 'Give NAME these roles (roles it already holds are left as they are)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Take these roles from NAME (roles it does not hold are left as they are)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the names holding roles, one line per name')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mtlsctl;role;grant' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;role;revoke' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;role;list' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only this name (listed even when it holds no role)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Only names holding this role (their other roles are shown too)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;role;help' {
            [CompletionResult]::new('grant', 'grant', [CompletionResultType]::ParameterValue, 'Give NAME these roles (roles it already holds are left as they are)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Take these roles from NAME (roles it does not hold are left as they are)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the names holding roles, one line per name')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mtlsctl;role;help;grant' {
            break
        }
        'mtlsctl;role;help;revoke' {
            break
        }
        'mtlsctl;role;help;list' {
            break
        }
        'mtlsctl;role;help;help' {
            break
        }
        'mtlsctl;serve' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The gateway config: routes, client auth and allow rules per route, and a key for every flag below (default: PKI/gateway.toml when it exists; docs/gateway.md). A flag given here wins over its key')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (port 0 picks a free port; the log says which) [default: 127.0.0.1:8443]')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Serve /healthz, /status and /metrics on this loopback address (off by default; port 0 picks a free port, the log says which)')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'Where routes that name no upstream send their requests: `echo` (the identity echo, the default) or http://HOST:PORT[/prefix]')
            [CompletionResult]::new('--server-name', '--server-name', [CompletionResultType]::ParameterName, 'A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1)')
            [CompletionResult]::new('--stale-crl', '--stale-crl', [CompletionResultType]::ParameterName, 'What to do when a CRL is past its nextUpdate [default: deny]')
            [CompletionResult]::new('--handshake-timeout', '--handshake-timeout', [CompletionResultType]::ParameterName, 'Deadline for a TLS handshake [default: 10s]')
            [CompletionResult]::new('--header-timeout', '--header-timeout', [CompletionResultType]::ParameterName, 'Deadline for a request''s headers [default: 10s]')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Close a connection idle this long [default: 60s]')
            [CompletionResult]::new('--max-header-bytes', '--max-header-bytes', [CompletionResultType]::ParameterName, 'Largest request header block in bytes (431 above it) [default: 65536]')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most concurrent connections [default: 4096]')
            [CompletionResult]::new('--upstream-timeout', '--upstream-timeout', [CompletionResultType]::ParameterName, 'Deadline for the upstream''s response headers (504 after it) and longest pause in a response body (the response is aborted after it) [default: 30s]')
            [CompletionResult]::new('--drain-timeout', '--drain-timeout', [CompletionResultType]::ParameterName, 'How long SIGTERM/SIGINT waits for requests in flight [default: 10s]')
            [CompletionResult]::new('--crl-listen', '--crl-listen', [CompletionResultType]::ParameterName, 'Serve the PKI''s CRLs and CA certificates over plain HTTP on this address, at the paths of `ca init --crl-url` (off by default; any address: relying parties fetch from it)')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads (default: one per CPU)')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--check-config', '--check-config', [CompletionResultType]::ParameterName, 'Check the gateway config and exit: 0 when it is usable, 7 with the file, line and key of the first problem otherwise (like `nginx -t`)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Make a throwaway PKI with a client certificate, serve it, and print curl commands')
            [CompletionResult]::new('--tls12', '--tls12', [CompletionResultType]::ParameterName, 'Also accept TLS 1.2 (TLS 1.3 only by default)')
            [CompletionResult]::new('--no-crl-resign', '--no-crl-resign', [CompletionResultType]::ParameterName, 'Never re-sign the CRLs, even when the CA key can be used (a cron job or another host signs them); the log and /status then warn from 7 days before a CRL''s nextUpdate. Without it, serve re-signs each CRL once a third of its lifetime is left whenever it can use the CA key')
            [CompletionResult]::new('--allow-plaintext-upstream', '--allow-plaintext-upstream', [CompletionResultType]::ParameterName, 'Allow http:// upstreams beyond loopback (plaintext across the network); without it such an upstream is a config error: use https:// (upstream mTLS) instead')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;export-config' {
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'Where the proxy forwards verified requests: http://HOST:PORT, or https://HOST:PORT verified against trust.pem [default: http://127.0.0.1:8080]')
            [CompletionResult]::new('--server-name', '--server-name', [CompletionResultType]::ParameterName, 'A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1, as `serve`); it is issued, or reused when one exists')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the proxy listens on [default: 127.0.0.1:8443]')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the config to FILE (atomically) instead of stdout; needed for caddy, whose trusted client certificates go to FILE.leaves/')
            [CompletionResult]::new('--passphrase-file', '--passphrase-file', [CompletionResultType]::ParameterName, 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)')
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;completions' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;generate-docs' {
            [CompletionResult]::new('--pki', '--pki', [CompletionResultType]::ParameterName, 'The PKI directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success (errors still go to stderr)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mtlsctl;help' {
            [CompletionResult]::new('ca', 'ca', [CompletionResultType]::ParameterValue, 'Create and manage the certificate authority')
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Issue a certificate (key, cert and chain written under certs/NAME/)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the certificates in the inventory')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one certificate from the inventory by name or serial')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Describe any certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a certificate and re-sign its CA''s CRL at once')
            [CompletionResult]::new('crl', 'crl', [CompletionResultType]::ParameterValue, 'Re-sign every CRL now (cron, before nextUpdate), or export them')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'New key and certificate with the same identity, for one name or all')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Write a PKCS#12 or PEM bundle of a certificate and its key')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Would this PKI accept a certificate? If not, why (exit 3)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'CI gate: fail (exit 3) when anything expires within the window')
            [CompletionResult]::new('role', 'role', [CompletionResultType]::ParameterValue, 'Grant, revoke and list the roles a name holds (gateway allow rules, X-Client-Roles)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the mTLS gateway from the PKI (identity echo unless --upstream)')
            [CompletionResult]::new('export-config', 'export-config', [CompletionResultType]::ParameterValue, 'Write an nginx, Caddy, Envoy or Traefik config that uses this PKI''s files (docs/export-config.md)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-docs', 'generate-docs', [CompletionResultType]::ParameterValue, 'Regenerate man/ and completions/ under DIR (for maintainers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mtlsctl;help;ca' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the CA generations and their certificates')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Start a new CA generation: a new intermediate, or with --root a new root')
            [CompletionResult]::new('retire', 'retire', [CompletionResultType]::ParameterValue, 'Take an old generation out of service (trust.pem, CRLs)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set or clear the CRL or CA certificate URL put in certificates issued from now on')
            break
        }
        'mtlsctl;help;ca;init' {
            break
        }
        'mtlsctl;help;ca;show' {
            break
        }
        'mtlsctl;help;ca;rotate' {
            break
        }
        'mtlsctl;help;ca;retire' {
            break
        }
        'mtlsctl;help;ca;set' {
            break
        }
        'mtlsctl;help;issue' {
            break
        }
        'mtlsctl;help;list' {
            break
        }
        'mtlsctl;help;show' {
            break
        }
        'mtlsctl;help;inspect' {
            break
        }
        'mtlsctl;help;revoke' {
            break
        }
        'mtlsctl;help;crl' {
            break
        }
        'mtlsctl;help;rotate' {
            break
        }
        'mtlsctl;help;bundle' {
            break
        }
        'mtlsctl;help;verify' {
            break
        }
        'mtlsctl;help;check' {
            break
        }
        'mtlsctl;help;role' {
            [CompletionResult]::new('grant', 'grant', [CompletionResultType]::ParameterValue, 'Give NAME these roles (roles it already holds are left as they are)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Take these roles from NAME (roles it does not hold are left as they are)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the names holding roles, one line per name')
            break
        }
        'mtlsctl;help;role;grant' {
            break
        }
        'mtlsctl;help;role;revoke' {
            break
        }
        'mtlsctl;help;role;list' {
            break
        }
        'mtlsctl;help;serve' {
            break
        }
        'mtlsctl;help;export-config' {
            break
        }
        'mtlsctl;help;completions' {
            break
        }
        'mtlsctl;help;generate-docs' {
            break
        }
        'mtlsctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
