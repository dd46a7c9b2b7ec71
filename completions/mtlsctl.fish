# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mtlsctl_global_optspecs
    string join \n pki= json q/quiet y/yes h/help V/version
end

function __fish_mtlsctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mtlsctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mtlsctl_using_subcommand
    set -l cmd (__fish_mtlsctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "ca" -d 'Create and manage the certificate authority'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "issue" -d 'Issue a certificate (key, cert and chain written under certs/NAME/)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "list" -d 'List the certificates in the inventory'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "show" -d 'Show one certificate from the inventory by name or serial'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "inspect" -d 'Describe any certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "revoke" -d 'Revoke a certificate and re-sign its CA\'s CRL at once'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "crl" -d 'Re-sign every CRL now (cron, before nextUpdate), or export them'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "rotate" -d 'New key and certificate with the same identity, for one name or all'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "bundle" -d 'Write a PKCS#12 or PEM bundle of a certificate and its key'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "verify" -d 'Would this PKI accept a certificate? If not, why (exit 3)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "check" -d 'CI gate: fail (exit 3) when anything expires within the window'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "role" -d 'Grant, revoke and list the roles a name holds (gateway allow rules, X-Client-Roles)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "serve" -d 'Run the mTLS gateway from the PKI (identity echo unless --upstream)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "export-config" -d 'Write an nginx, Caddy, Envoy or Traefik config that uses this PKI\'s files (docs/export-config.md)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "generate-docs" -d 'Regenerate man/ and completions/ under DIR (for maintainers)'
complete -c mtlsctl -n "__fish_mtlsctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -f -a "init" -d 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -f -a "show" -d 'Show the CA generations and their certificates'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -f -a "rotate" -d 'Start a new CA generation: a new intermediate, or with --root a new root'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -f -a "retire" -d 'Take an old generation out of service (trust.pem, CRLs)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -f -a "set" -d 'Set or clear the CRL or CA certificate URL put in certificates issued from now on'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and not __fish_seen_subcommand_from init show rotate retire set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l name -d 'The CA\'s name; the root and intermediate common names derive from it' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l key-type -d 'Key type of the CA keys' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l validity -d 'Validity of the root (the intermediate ends with it)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l permit-dns -d 'Permit only this DNS subtree (name constraint; repeatable; .example.com = subdomains only)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l permit-ip -d 'Permit only this IP network (name constraint; repeatable)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l passphrase-file -d 'Encrypt the CA keys with the passphrase on the first line of FILE' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l crl-url -d 'Put a CRLDistributionPoint URL/<generation>/<root|intermediate>.crl in every certificate the CAs issue (http:// only; serve it with `serve --crl-listen`)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l aia-url -d 'Put an AuthorityInfoAccess caIssuers URL/<generation>/<root|intermediate>.crt in every certificate the CAs issue (http:// only)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l single-tier -d 'Make only a root, which issues leaves itself'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l no-passphrase -d 'Store the CA keys unencrypted (mode 0600)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from show" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -l root -d 'Make a new root too (trust.pem then holds the old and the new root)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -l force -d 'Retire even though unexpired, unrevoked certificates still depend on it'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from retire" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from set" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from set" -l clear -d 'Remove the URL: certificates issued from now on carry no such extension'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from set" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from set" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the CA generations and their certificates'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Start a new CA generation: a new intermediate, or with --root a new root'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "retire" -d 'Take an old generation out of service (trust.pem, CRLs)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set or clear the CRL or CA certificate URL put in certificates issued from now on'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l profile -d 'What the certificate is for' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l cn -d 'Subject common name (default: NAME)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l org -d 'Subject organization (O)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l ou -d 'Subject organizational unit (OU)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l dns -d 'DNS subject alternative name (repeatable)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l ip -d 'IP subject alternative name (repeatable)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l uri -d 'URI subject alternative name, e.g. a SPIFFE ID (repeatable)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l email -d 'Email subject alternative name (repeatable)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l validity -d 'Validity (default from mtlsctl.toml: 90d)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l key-type -d 'Key type (default from mtlsctl.toml: ecdsa-p256)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l csr -d 'Sign this CSR (PEM or DER) instead of making a key; only its public key is used' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l role -d 'Role for the name, for gateway policies (repeatable; a name issued again after a revocation holds only these; see `mtlsctl role`)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand issue" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -l status -d 'Only certificates with this status' -r -f -a "valid\t'Not revoked and not expired'
revoked\t'Revoked'
expired\t'Past notAfter'
all\t'Everything'"
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -l expiring-within -d 'Only certificates that are valid now and expire within DUR' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand list" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand show" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand show" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand show" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand show" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand show" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand show" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand inspect" -l password-file -d 'PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand inspect" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand inspect" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand inspect" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand inspect" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -l reason -d 'RFC 5280 reason' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -l out -d 'Export instead of re-signing: every current CRL (PEM), or with --der the issuing CA\'s CRL' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -l der -d 'With --out: the current issuing CA\'s CRL in DER'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand crl" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -l if-expiring-within -d 'Only certificates that expire within DUR (safe to run nightly)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -l csr -d 'A new CSR for a certificate issued from a CSR (one name only)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -l all -d 'Rotate every current certificate'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -l revoke-previous -d 'Revoke the previous certificate (reason superseded)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand rotate" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -l format -d 'Bundle format' -r -f -a "p12\t'PKCS#12 (.p12/.pfx): Java, browsers, macOS and Windows keychains'
pem\t'PEM: key, leaf and chain in one file'"
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -l out -d 'Output file (default NAME.p12 or NAME.pem in the current directory; mode 0600)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -l password-file -d 'PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -l legacy -d 'PKCS#12 with 3DES and a SHA-1 MAC, for keystores older than 2020'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -l trust -d 'With --format pem: the trust bundle (trust.pem\'s roots) instead of a key and chain'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand bundle" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -l chain -d 'More intermediates (PEM)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -l usage -d 'The extended key usage to require' -r -f -a "client\t'clientAuth'
server\t'serverAuth'"
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -l route -d 'Also decide as the gateway would for a request to HOST/PATH: which route it takes and whether its rules let this certificate in (the gateway\'s own code, run offline)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -l config -d 'The gateway config for --route (default: PKI/gateway.toml when it exists, else the built-in catch-all route)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -l explain -d 'Print every check, not just the verdict'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand verify" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand check" -l warn -d 'Fail when anything expires (or a CRL\'s nextUpdate falls) within DUR' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand check" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand check" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand check" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand check" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand check" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand check" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -f -a "grant" -d 'Give NAME these roles (roles it already holds are left as they are)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -f -a "revoke" -d 'Take these roles from NAME (roles it does not hold are left as they are)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -f -a "list" -d 'List the names holding roles, one line per name'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and not __fish_seen_subcommand_from grant revoke list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from grant" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from grant" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from grant" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from grant" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from grant" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from grant" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from revoke" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from revoke" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from revoke" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -l name -d 'Only this name (listed even when it holds no role)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -l role -d 'Only names holding this role (their other roles are shown too)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from help" -f -a "grant" -d 'Give NAME these roles (roles it already holds are left as they are)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Take these roles from NAME (roles it does not hold are left as they are)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the names holding roles, one line per name'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand role; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l config -d 'The gateway config: routes, client auth and allow rules per route, and a key for every flag below (default: PKI/gateway.toml when it exists; docs/gateway.md). A flag given here wins over its key' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l listen -d 'Address to listen on (port 0 picks a free port; the log says which) [default: 127.0.0.1:8443]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l admin -d 'Serve /healthz, /status and /metrics on this loopback address (off by default; port 0 picks a free port, the log says which)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l upstream -d 'Where routes that name no upstream send their requests: `echo` (the identity echo, the default) or http://HOST:PORT[/prefix]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l server-name -d 'A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l stale-crl -d 'What to do when a CRL is past its nextUpdate [default: deny]' -r -f -a "deny\t'Refuse certificates covered by a CRL past its nextUpdate'
warn\t'Keep using the stale CRL and log a warning'"
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l handshake-timeout -d 'Deadline for a TLS handshake [default: 10s]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l header-timeout -d 'Deadline for a request\'s headers [default: 10s]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l idle-timeout -d 'Close a connection idle this long [default: 60s]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l max-header-bytes -d 'Largest request header block in bytes (431 above it) [default: 65536]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l max-connections -d 'Most concurrent connections [default: 4096]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l upstream-timeout -d 'Deadline for the upstream\'s response headers (504 after it) and longest pause in a response body (the response is aborted after it) [default: 30s]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l drain-timeout -d 'How long SIGTERM/SIGINT waits for requests in flight [default: 10s]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l crl-listen -d 'Serve the PKI\'s CRLs and CA certificates over plain HTTP on this address, at the paths of `ca init --crl-url` (off by default; any address: relying parties fetch from it)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l workers -d 'Runtime worker threads (default: one per CPU)' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l check-config -d 'Check the gateway config and exit: 0 when it is usable, 7 with the file, line and key of the first problem otherwise (like `nginx -t`)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l demo -d 'Make a throwaway PKI with a client certificate, serve it, and print curl commands'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l tls12 -d 'Also accept TLS 1.2 (TLS 1.3 only by default)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l no-crl-resign -d 'Never re-sign the CRLs, even when the CA key can be used (a cron job or another host signs them); the log and /status then warn from 7 days before a CRL\'s nextUpdate. Without it, serve re-signs each CRL once a third of its lifetime is left whenever it can use the CA key'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l allow-plaintext-upstream -d 'Allow http:// upstreams beyond loopback (plaintext across the network); without it such an upstream is a config error: use https:// (upstream mTLS) instead'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -l upstream -d 'Where the proxy forwards verified requests: http://HOST:PORT, or https://HOST:PORT verified against trust.pem [default: http://127.0.0.1:8080]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -l server-name -d 'A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1, as `serve`); it is issued, or reused when one exists' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -l listen -d 'Address the proxy listens on [default: 127.0.0.1:8443]' -r
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -l out -d 'Write the config to FILE (atomically) instead of stdout; needed for caddy, whose trusted client certificates go to FILE.leaves/' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -l passphrase-file -d 'Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal)' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand export-config" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand completions" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand completions" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand completions" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand completions" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand generate-docs" -l pki -d 'The PKI directory' -r -F
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand generate-docs" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand generate-docs" -s q -l quiet -d 'Print nothing on success (errors still go to stderr)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand generate-docs" -s y -l yes -d 'Answer yes to confirmations (for scripts)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand generate-docs" -s V -l version -d 'Print version'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "ca" -d 'Create and manage the certificate authority'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "issue" -d 'Issue a certificate (key, cert and chain written under certs/NAME/)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "list" -d 'List the certificates in the inventory'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "show" -d 'Show one certificate from the inventory by name or serial'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "inspect" -d 'Describe any certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "revoke" -d 'Revoke a certificate and re-sign its CA\'s CRL at once'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "crl" -d 'Re-sign every CRL now (cron, before nextUpdate), or export them'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "rotate" -d 'New key and certificate with the same identity, for one name or all'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "bundle" -d 'Write a PKCS#12 or PEM bundle of a certificate and its key'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "verify" -d 'Would this PKI accept a certificate? If not, why (exit 3)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "check" -d 'CI gate: fail (exit 3) when anything expires within the window'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "role" -d 'Grant, revoke and list the roles a name holds (gateway allow rules, X-Client-Roles)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "serve" -d 'Run the mTLS gateway from the PKI (identity echo unless --upstream)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "export-config" -d 'Write an nginx, Caddy, Envoy or Traefik config that uses this PKI\'s files (docs/export-config.md)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "completions" -d 'Print a shell completion script'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "generate-docs" -d 'Regenerate man/ and completions/ under DIR (for maintainers)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and not __fish_seen_subcommand_from ca issue list show inspect revoke crl rotate bundle verify check role serve export-config completions generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from ca" -f -a "init" -d 'Create a new PKI: root and issuing intermediate (or one root with --single-tier)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from ca" -f -a "show" -d 'Show the CA generations and their certificates'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from ca" -f -a "rotate" -d 'Start a new CA generation: a new intermediate, or with --root a new root'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from ca" -f -a "retire" -d 'Take an old generation out of service (trust.pem, CRLs)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from ca" -f -a "set" -d 'Set or clear the CRL or CA certificate URL put in certificates issued from now on'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from role" -f -a "grant" -d 'Give NAME these roles (roles it already holds are left as they are)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from role" -f -a "revoke" -d 'Take these roles from NAME (roles it does not hold are left as they are)'
complete -c mtlsctl -n "__fish_mtlsctl_using_subcommand help; and __fish_seen_subcommand_from role" -f -a "list" -d 'List the names holding roles, one line per name'
