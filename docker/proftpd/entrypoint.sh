#!/bin/bash
# Starts ProFTPD in the foreground (under tini, PID 1).
#   FTP_PASSWORD   password of the user `ftpuser` (default ftp-password)
#   FTP_PASV_MIN, FTP_PASV_MAX   passive range (default 21100-21110)
#   FTP_TLS=1      explicit FTPS required (mod_tls), self-signed certificate
set -euo pipefail

if [ -n "${FTP_PASSWORD:-}" ]; then
    echo "ftpuser:$FTP_PASSWORD" | chpasswd
fi
mkdir -p /run/proftpd /var/log/ftp
touch /var/log/ftp/system.log /var/log/ftp/transfer.log

config=/run/proftpd/proftpd.conf
cp /etc/proftpd/puqbackup.conf "$config"
echo "PassivePorts ${FTP_PASV_MIN:-21100} ${FTP_PASV_MAX:-21110}" >>"$config"
case ${FTP_TLS:-0} in
    1 | yes | YES | true)
        cat >>"$config" <<CONF
LoadModule mod_tls.c
<IfModule mod_tls.c>
  TLSEngine on
  TLSRequired on
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRSACertificateFile /etc/ssl/certs/proftpd.crt
  TLSRSACertificateKeyFile /etc/ssl/private/proftpd.key
  TLSOptions NoSessionReuseRequired
  TLSLog /var/log/ftp/tls.log
</IfModule>
CONF
        echo "proftpd: explicit FTPS required (self-signed certificate, CN=ftp)"
        ;;
    *) echo "proftpd: plain FTP (FTP_TLS=1 for FTPS)" ;;
esac

/usr/sbin/proftpd --configtest -c "$config" >/dev/null
# The logs on standard output, for `docker logs`.
tail -q -n +1 -F /var/log/ftp/system.log /var/log/ftp/transfer.log &
exec /usr/sbin/proftpd --nodaemon -c "$config"
