#!/usr/bin/env python3
"""The golden wire bytes of protocol version 3 (spec/wire-format.md §8, §10.4), computed from
the spec alone: message layouts, CRC-32/ISO-HDLC (zlib.crc32), COBS written from Cheshire &
Baker's paper. Prints one line per example; with --check compares them, in order, with the
strings of crates/token-proto/tests/golden.rs and exits 1 on any difference.

Usage: wire_golden.py [--check]
"""
import pathlib
import re
import struct
import sys
import zlib

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import sealed_vectors as sv  # noqa: E402

VERSION = 3
HWID = bytes(range(1, 9))
RFC_SEED = b'12345678901234567890'
DEVICE_KEY = sv.EXPECTED['device_public']


def cobs(data):
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += bytes([255]) + block
                block = bytearray()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


def wire(kind, seq, payload):
    body = bytes([VERSION, kind]) + struct.pack('<H', seq) + payload
    frame = body + struct.pack('<I', zlib.crc32(body))
    return (cobs(frame) + b'\x00').hex()


def serial(s):
    return bytes([len(s)]) + s


def date(y, m, d):
    return struct.pack('<HBB', y, m, d)


def params(hash_, digits, mode, period, value):
    return bytes([hash_, digits, mode]) + struct.pack('<IQ', period, value)


TOTP = params(0, 6, 1, 30, 0)
HOTP = params(1, 8, 0, 0, 5)
BANK_PUBLIC = bytes.fromhex(sv.EXPECTED['bank_public'])
KEY_ID = bytes.fromhex(sv.EXPECTED['bank_key_id'])

REQUESTS = [
    (0x01, 0x0001, b''),
    (0x02, 0x0002, HWID + struct.pack('<Q', 1700000000)),
    (0x03, 0x0003, HWID + bytes([20]) + RFC_SEED + serial(b'10000001') + date(2031, 1, 31) + TOTP),
    (0x03, 0x0103, HWID + bytes([32]) + b'\xa5' * 32 + serial(b'SKTH12345') + date(2025, 1, 31) + HOTP),
    (0x04, 0x0004, HWID),
    (0x05, 0x0005, HWID),
    (0x06, 0x0006, HWID),
    # GenerateSealed: a 20-byte seed for serial 10000001, sealed to the §10.5 bank key.
    (0x07, 0x0007, HWID + BANK_PUBLIC + KEY_ID + bytes([20]) + serial(b'10000001') + date(2031, 1, 31) + TOTP),
]


def info(state, credential, clock, device_key):
    p = HWID + bytes([1, 0, 0, state])
    p += b'\x00' if credential is None else b'\x01' + credential
    p += b'\x00' if clock is None else b'\x01' + struct.pack('<Q', clock)
    p += b'\x00' if device_key is None else b'\x01' + bytes.fromhex(device_key)
    return p


def display(text, factor):
    return bytes([len(text)]) + text + struct.pack('<Q', factor)


ERRORS = [0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x11, 0x12, 0x13, 0x14,
          0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x30, 0x31]
SEALED = (bytes.fromhex(sv.EXPECTED['ephemeral_public'])
          + bytes([len(bytes.fromhex(sv.EXPECTED['ciphertext']))])
          + bytes.fromhex(sv.EXPECTED['ciphertext']) + bytes.fromhex(sv.EXPECTED['signature']))
RESPONSES = [
    (0x81, 0x0001, info(0, None, None, DEVICE_KEY)),
    (0x81, 0x0001, info(2, serial(b'10000001') + date(2031, 1, 31) + TOTP, 1700000000, DEVICE_KEY)),
    (0x81, 0x0001, info(0, None, None, None)),
    (0x82, 0x0002, b''),
    (0x83, 0x0004, display(b'287082', 1)),
    (0x83, 0x0004, display(b'94287082', 1)),
    (0x83, 0x0004, display(b'084774', 37037036)),
    (0x84, 0x0007, SEALED),
] + [(0xFF, 0x0009, bytes([code])) for code in ERRORS]


def main():
    lines = [wire(*r) for r in REQUESTS] + [wire(*r) for r in RESPONSES]
    for line in lines:
        print(line)
    if '--check' in sys.argv:
        golden = pathlib.Path(__file__).parents[2] / 'crates/token-proto/tests/golden.rs'
        src = golden.read_text()
        ours = re.findall(r'^\s*"([0-9a-f]+)",$', src, re.M)
        if ours != lines:
            for i, (a, b) in enumerate(zip(ours, lines)):
                if a != b:
                    print('MISMATCH at %d:\n  rust   %s\n  python %s' % (i, a, b), file=sys.stderr)
            if len(ours) != len(lines):
                print('MISMATCH: %d strings in golden.rs, %d here' % (len(ours), len(lines)), file=sys.stderr)
            sys.exit(1)
        print('golden.rs: %d frames agree' % len(lines), file=sys.stderr)


if __name__ == '__main__':
    main()
