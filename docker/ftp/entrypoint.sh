#!/bin/bash
# Starts vsftpd in the foreground (under tini, PID 1).
#   FTP_PASSWORD   password of the user `ftpuser` (default ftp-password)
#   FTP_PASV_MIN, FTP_PASV_MAX   passive range (default 21100-21110; the
#                  published ports must match)
#   FTP_TLS=1      explicit FTPS (AUTH TLS) with the image's self-signed
#                  certificate, required for login and data
#   FTP_TLS_REQUIRE_REUSE=YES   vsftpd's TLS session reuse check on data
#                  connections (default NO: many clients do not resume)
#   FTP_MAX_RATE   bytes per second of one transfer (default unlimited): a
#                  slow server, so that a test can act in mid-upload
#   FTP_DENIED_COMMANDS   commands answered with 550, comma-separated (for
#                  example RNFR,RNTO: a server that refuses the final rename)
#   FTP_TLS_NAME   the DNS name clients reach the server by (default ftp):
#                  a self-signed certificate for it is made at start, in
#                  /run/ftp-tls/cert.pem, for clients to trust
set -euo pipefail

if [ -n "${FTP_PASSWORD:-}" ]; then
    echo "ftpuser:$FTP_PASSWORD" | chpasswd
fi
mkdir -p /var/run/vsftpd/empty

config=/run/vsftpd.conf
cp /etc/vsftpd.conf "$config"
cat >>"$config" <<CONF
pasv_min_port=${FTP_PASV_MIN:-21100}
pasv_max_port=${FTP_PASV_MAX:-21110}
CONF
if [ -n "${FTP_MAX_RATE:-}" ]; then
    echo "local_max_rate=$FTP_MAX_RATE" >>"$config"
fi
if [ -n "${FTP_DENIED_COMMANDS:-}" ]; then
    echo "cmds_denied=$FTP_DENIED_COMMANDS" >>"$config"
fi
case ${FTP_TLS:-0} in
    1 | yes | YES | true)
        mkdir -p /run/ftp-tls
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=${FTP_TLS_NAME:-ftp}" \
            -addext "subjectAltName=DNS:${FTP_TLS_NAME:-ftp},DNS:localhost,IP:127.0.0.1" \
            -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
            -keyout /run/ftp-tls/key.pem -out /run/ftp-tls/cert.pem 2>/dev/null
        chmod 0600 /run/ftp-tls/key.pem
        cat >>"$config" <<CONF
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
ssl_tlsv1=YES
ssl_sslv2=NO
ssl_sslv3=NO
require_ssl_reuse=${FTP_TLS_REQUIRE_REUSE:-NO}
rsa_cert_file=/run/ftp-tls/cert.pem
rsa_private_key_file=/run/ftp-tls/key.pem
CONF
        echo "vsftpd: explicit FTPS required (self-signed certificate for ${FTP_TLS_NAME:-ftp})"
        ;;
    *) echo "vsftpd: plain FTP (FTP_TLS=1 for FTPS)" ;;
esac

exec /usr/sbin/vsftpd "$config"
