import { describe, expect, it } from 'vitest';
import { IPXE_KERNEL, QEMU_GUEST, ipxeQemuNetwork, qemuArguments } from './qemu.js';

const base = { bootScript: '/w/boot.ipxe', serialLog: '/w/serial.log', memoryMiB: 2048, accelerator: 'tcg' as const, timeoutSeconds: 600 };

describe('qemu arguments of vauban boot', () => {
  it('iPXE runs as a kernel with the boot script as its initrd; the NIC has no option ROM to fall back to', () => {
    const args = qemuArguments({ ...base, mac: '52:54:00:00:14:01' });
    expect(args[args.indexOf('-kernel') + 1]).toBe(IPXE_KERNEL);
    expect(args[args.indexOf('-initrd') + 1]).toBe('/w/boot.ipxe');
    expect(args[args.indexOf('-device') + 1]).toBe('virtio-net-pci,netdev=net0,romfile=,mac=52:54:00:00:14:01');
    expect(args).not.toContain('-boot');
    // No VGA, floppy, CD-ROM or parallel port; the serial console is the one given.
    expect(args).toContain('-nodefaults');
    expect(args[args.indexOf('-serial') + 1]).toBe('file:/w/serial.log');
    expect(args[args.indexOf('-netdev') + 1]).toBe('user,id=net0,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,dhcpstart=10.0.2.15');
  });

  it('TCG shows the guest the baseline CPU without SVM (no kvm_amd in the guest); KVM passes the host\'s', () => {
    const tcg = qemuArguments(base);
    expect(tcg[tcg.indexOf('-cpu') + 1]).toBe('qemu64,-svm');
    const kvm = qemuArguments({ ...base, accelerator: 'kvm' });
    expect(kvm[kvm.indexOf('-cpu') + 1]).toBe('host');
  });

  it('the boot script gives net0 the address QEMU\'s DHCP server would, then opens it', () => {
    expect(ipxeQemuNetwork()).toEqual([`set net0/ip ${QEMU_GUEST.ip}`, 'set net0/netmask 255.255.255.0', 'set net0/gateway 10.0.2.2', 'set net0/dns 10.0.2.3', 'ifopen net0']);
  });
});
