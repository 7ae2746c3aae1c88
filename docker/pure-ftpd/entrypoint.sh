#!/bin/bash
# Starts Pure-FTPd in the foreground (under tini, PID 1), with system
# accounts, every user chrooted to its home, passive ports only from a fixed
# range and no announced address (it announces the one the client reached).
#   FTP_PASSWORD   password of the user `ftpuser` (default ftp-password)
#   FTP_PASV_MIN, FTP_PASV_MAX   passive range (default 21100-21110)
#   FTP_TLS=1      explicit FTPS required (-Y 2), self-signed certificate
# Pure-FTPd logs to syslog, which the container lacks; transfers are logged
# to standard output (--altlog).
set -euo pipefail

if [ -n "${FTP_PASSWORD:-}" ]; then
    echo "ftpuser:$FTP_PASSWORD" | chpasswd
fi

options=(
    --bind 0.0.0.0,21 --ipv4only
    --login unix --noanonymous --minuid 1000 --chrooteveryone
    --passiveportrange "${FTP_PASV_MIN:-21100}:${FTP_PASV_MAX:-21110}"
    --maxclientsnumber 50 --maxclientsperip 20
    --dontresolve --altlog clf:/var/log/ftp/transfer.log
)
case ${FTP_TLS:-0} in
    1 | yes | YES | true)
        options+=(--tls 2 --certfile /etc/ssl/private/pure-ftpd.pem)
        echo "pure-ftpd: explicit FTPS required (self-signed certificate, CN=ftp)"
        ;;
    *) echo "pure-ftpd: plain FTP (FTP_TLS=1 for FTPS)" ;;
esac

# The transfer log is a file (nothing arrives through /proc/1/fd/1); it is
# followed on standard output, for `docker logs`.
mkdir -p /var/log/ftp
touch /var/log/ftp/transfer.log
tail -q -n +1 -F /var/log/ftp/transfer.log &
exec /usr/sbin/pure-ftpd "${options[@]}"
