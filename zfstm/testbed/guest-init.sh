#!/bin/sh
# Run as PID 1 of the zfstm testbed guest (exec'd by the image's guest-stub.sh, which mounted proc, sys, dev and
# the checkout at /src): mount the rest, load ZFS, create a fresh pool, run one command, power off.
# The host puts the command in /io/argv.json; its output goes to the second serial port (the host streams it);
# its exit status goes to /io/rc. Everything else this script says goes to the console log.
# When the host also wrote /io/systemd (`testbed run --systemd`), the pool is made the same way, then systemd
# becomes PID 1 and boots to zfstm-testbed.target: basic.target (journald, udev, D-Bus socket, timers) plus a
# oneshot unit that calls this script with `--command` to run the command, report its status and end the VM.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

say() { read -r up _ </proc/uptime; echo "zfstm-guest: [${up}s] $*" >/dev/console; }
# Run "$@" in the background and wait at most $1... seconds for it: a command stuck in the kernel (an export of a
# pool whose zvol an iSCSI target still holds, a sync behind it) must not keep the VM up.
bounded() {
    limit=$1
    shift
    "$@" &
    pid=$!
    waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge "$limit" ]; then
            say "gave up waiting for: $*"
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}
finish() {
    bounded 20 sync
    echo 1 >/proc/sys/kernel/sysrq
    echo b >/proc/sysrq-trigger
    sleep 30
}

# The command from /io/argv.json, its output on the second serial port, its status in /io/rc; then the VM ends.
run_command() {
    mkdir -p /tmp/work /io/out
    : >/io/started
    cd /tmp/work || exit 1
    PYTHONPATH=/src PYTHONPYCACHEPREFIX=/var/cache/zfstm-pyc ZFSTM_TESTBED=1 ZFSTM_TESTBED_POOL=tank \
        ZFSTM_TESTBED_OUT=/io/out \
        python3 -c 'import json, os, sys; argv = json.load(open("/io/argv.json")); os.execvp(argv[0], argv)' \
        >/dev/ttyS1 2>&1 </dev/null
    echo $? >/io/rc.tmp && mv /io/rc.tmp /io/rc
    say "command finished"
    bounded 60 zpool export -f tank 2>/dev/null
    finish
}

# Under systemd (see the top): the unit that runs the command, and the target that is all the guest boots to.
# systemd-tmpfiles empties /tmp at boot, so run_command makes /tmp/work again.
boot_systemd() {
    units=/run/systemd/system
    mkdir -p "$units"
    cat >"$units/zfstm-testbed.target" <<'UNIT'
[Unit]
Description=zfstm testbed: basic system and the test command
Requires=basic.target zfstm-testbed.service
After=basic.target
AllowIsolate=yes
UNIT
    cat >"$units/zfstm-testbed.service" <<'UNIT'
[Unit]
Description=zfstm testbed command (from /io/argv.json)
After=basic.target dbus.socket
[Service]
Type=oneshot
ExecStart=/bin/sh /src/zfstm/testbed/guest-init.sh --command
TimeoutStartSec=infinity
UNIT
    # The udevd started above hands over to systemd-udevd.service.
    udevadm control --exit 2>/dev/null
    say "exec systemd"
    exec /lib/systemd/systemd --system --unit=zfstm-testbed.target
}

[ "$1" = "--command" ] && run_command

modprobe virtio_rng 2>/dev/null  # seeds the kernel's random pool (zpool create waits for it)
# Loading zfs.ko (12 MB) takes 5-8 s under TCG: let it run on the second vCPU while the rest is set up.
modprobe zfs &
zfs_loading=$!
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
mkdir -p /run/lock /var/tmp
hostname zfstm-testbed
ip link set lo up

mkdir -p /io
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 io /io || { say "cannot mount /io"; finish; }

stty -F /dev/ttyS1 raw -echo 2>/dev/null
say "mounts done"

# udev makes the partition nodes zpool waits for when it labels a whole disk.
/usr/lib/systemd/systemd-udevd --daemon >/dev/console 2>&1
udevadm trigger --action=add --subsystem-match=block
udevadm settle --timeout=30
say "udev settled"
if ! wait "$zfs_loading"; then
    say "modprobe zfs failed"
    echo 125 >/io/rc
    finish
fi
say "zfs loaded"
# The pool disk is a sparse file on the host, attached as the second virtio disk.
if ! zpool create -f -O mountpoint=/tank -O compression=lz4 tank /dev/vdb; then
    say "zpool create failed"
    echo 125 >/io/rc
    finish
fi
# Byte code for every Python process (the image's library is precompiled there; /src is read-only), any user.
mkdir -p /var/cache/zfstm-pyc && chmod 1777 /var/cache/zfstm-pyc
say "pool ready"
[ -f /io/systemd ] && boot_systemd
run_command
