/*
 * The tiny test guest: a few hundred bytes of 32-bit code that Cove enters
 * through the PVH note (EBX = hvm_start_info), so Cove can be tested on
 * any KVM without booting Linux. It prints a line on COM1, writes the boot
 * marker, then acts on the LAST character of its command line:
 *
 *   p  power off through the ACPI sleep control register (exit status 0)
 *   r  reset through the i8042 (status 32)
 *   t  triple fault (status 32)
 *   k  report a panic through pvpanic (status 34)
 *   h  halt forever with interrupts off (for SIGTERM tests)
 *   l  spin forever without an exit to the VMM (for SIGTERM tests)
 *   e  echo COM1 input back, "q" powers off (for stdin tests)
 *   anything else: power off
 */
	.equ COM1, 0x3f8
	.equ COM1_LSR, COM1 + 5
	.equ LSR_DATA_READY, 0x01
	.equ LSR_THR_EMPTY, 0x20
	.equ BOOT_MARKER_PORT, 0x3f0
	.equ BOOT_MARKER_VALUE, 123
	.equ I8042_CMD, 0x64
	.equ I8042_RESET, 0xfe
	.equ PVPANIC_PORT, 0x505
	.equ SLEEP_CTRL_PORT, 0x600      /* must match devices/legacy/acpi_pm.h */
	.equ SLEEP_S5_ENABLE, (5 << 2) | (1 << 5)
	.equ START_INFO_CMDLINE, 24

	.code32
	.text
	.globl _start
_start:
	cli
	mov $0x80000, %esp
	mov %ebx, %ebp			/* start_info, kept for the command line */
	mov $hello, %esi
	call puts
	mov $BOOT_MARKER_PORT, %dx
	mov $BOOT_MARKER_VALUE, %al
	outb %al, %dx
	call mode			/* %al = last command-line character */
	cmp $'r', %al
	je do_reset
	cmp $'t', %al
	je do_triple_fault
	cmp $'k', %al
	je do_panic
	cmp $'h', %al
	je do_hang
	cmp $'e', %al
	je do_echo
	cmp $'l', %al
	je do_spin
do_poweroff:
	mov $SLEEP_CTRL_PORT, %dx
	mov $SLEEP_S5_ENABLE, %al
	outb %al, %dx
	jmp do_hang
do_reset:
	mov $I8042_RESET, %al
	outb %al, $I8042_CMD
	jmp do_hang
do_triple_fault:
	lidt null_idt
	int3
do_panic:
	mov $PVPANIC_PORT, %dx
	mov $1, %al
	outb %al, %dx
do_hang:
	hlt
	jmp do_hang
do_spin:
	jmp do_spin

/* Echoes COM1 input until 'q'. */
do_echo:
	mov $ready, %esi
	call puts
1:	mov $COM1_LSR, %dx
	inb %dx, %al
	test $LSR_DATA_READY, %al
	jz 1b
	mov $COM1, %dx
	inb %dx, %al
	cmp $'q', %al
	je do_poweroff
	call putc
	jmp 1b

/* %al = last character of the command line, or 0 if there is none. */
mode:
	mov START_INFO_CMDLINE(%ebp), %esi
	xor %eax, %eax
	test %esi, %esi
	jz 2f
1:	mov (%esi), %cl
	test %cl, %cl
	jz 2f
	mov %cl, %al
	inc %esi
	jmp 1b
2:	ret

/* Prints the NUL-terminated string at %esi. */
puts:
	mov (%esi), %al
	test %al, %al
	jz 1f
	call putc
	inc %esi
	jmp puts
1:	ret

/* Prints %al once the transmitter is empty. */
putc:
	mov %eax, %ecx
	mov $COM1_LSR, %dx
1:	inb %dx, %al
	test $LSR_THR_EMPTY, %al
	jz 1b
	mov %ecx, %eax
	mov $COM1, %dx
	outb %al, %dx
	ret

	.section .rodata
hello:	.asciz "TINY: hello from the tiny guest\n"
ready:	.asciz "TINY: echo ready\n"
	.align 8
null_idt:
	.word 0
	.long 0

	/* PVH entry note: name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY (18). */
	.section .note.pvh, "a"
	.align 4
	.long 4
	.long 4
	.long 18
	.asciz "Xen"
	.long _start
