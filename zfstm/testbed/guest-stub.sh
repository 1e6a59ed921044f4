#!/bin/sh
# PID 1 baked into the zfstm testbed image. It only mounts the checkout and hands over to the checkout's own
# zfstm/testbed/guest-init.sh, so that changing the guest's behaviour never needs a new image.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
modprobe 9pnet_virtio
modprobe 9p
mkdir -p /src
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 src /src && [ -f /src/zfstm/testbed/guest-init.sh ]; then
    exec /bin/sh /src/zfstm/testbed/guest-init.sh
fi
echo "zfstm-guest: cannot mount the checkout at /src" >/dev/console
echo 1 >/proc/sys/kernel/sysrq
echo b >/proc/sysrq-trigger
