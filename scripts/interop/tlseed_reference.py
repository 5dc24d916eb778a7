#!/usr/bin/env python3
"""An independent reader of the .tlseed format, written from spec/seedfile.md alone with the
`cryptography` package. It decrypts the golden files of crates/seedfile/tests/data and checks
them against the spec's test vectors (§7), proving the spec is implementable by a third party.

Usage: tlseed_reference.py DATA_DIR [--verbose]   (prints intermediate values with --verbose)
"""
import hashlib
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAGIC = b'\x89TLSEED\n'
VERBOSE = '--verbose' in sys.argv


def show(name, value):
    if VERBOSE:
        print('%-22s %s' % (name, value.hex() if isinstance(value, bytes) else value))


def key_id(kind, key):
    return hashlib.sha256(b'tokenline-seedfile/v1/key-id' + bytes([kind]) + key).digest()[:8]


def hkdf(salt, ikm, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def parse(data, private=None, psk=None):
    assert data[:8] == MAGIC, 'magic'
    version, hlen = struct.unpack('>HH', data[8:12])
    assert version == 1, 'version'
    header = data[:12 + hlen]
    body = header[12:]
    prot = body[0]
    kid, eph, salt, prefix = body[1:9], body[9:41], body[41:73], body[73:80]
    chunk_size, count, created = struct.unpack('>IQq', body[80:100])
    batch = body[101:101 + body[100]].decode()
    show('header', header)
    if prot == 1:
        sk = X25519PrivateKey.from_private_bytes(private)
        pk = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert kid == key_id(1, pk), 'key id'
        shared = sk.exchange(X25519PublicKey.from_public_bytes(eph))
        show('recipient public key', pk)
        show('ephemeral public key', eph)
        show('shared secret', shared)
        key = hkdf(salt, shared, b'tokenline-seedfile/v1/x25519' + eph + pk)
    else:
        assert kid == key_id(2, psk), 'key id'
        key = hkdf(salt, psk, b'tokenline-seedfile/v1/psk')
    show('key id', kid)
    show('chunk key', key)
    aead = AESGCM(key)
    rest = data[len(header):]
    plain = b''
    i = 0
    while True:
        chunk = rest[:chunk_size + 16]
        rest = rest[chunk_size + 16:]
        last = len(rest) == 0
        nonce = prefix + struct.pack('>I', i) + bytes([1 if last else 0])
        show('nonce %d' % i, nonce)
        plain += aead.decrypt(nonce, chunk, header)
        i += 1
        if last:
            break
    show('plaintext', plain)
    records = []
    pos = 0
    while pos < len(plain):
        (n,) = struct.unpack('>H', plain[pos:pos + 2])
        records.append(decode(plain[pos + 2:pos + 2 + n]))
        pos += 2 + n
    assert len(records) == count, 'record count'
    return batch, created, records


def decode(b):
    p = 0

    def take(n):
        nonlocal p
        v = b[p:p + n]
        p += n
        return v

    def s8():
        return take(take(1)[0]).decode()
    serial = s8()
    seed = take(take(1)[0])
    hash_, digits, mode = take(3)
    if mode == 1:
        moving = ('hotp', struct.unpack('>Q', take(8))[0])
    else:
        moving = ('totp',) + struct.unpack('>IQ', take(12))
    (expiry,) = struct.unpack('>I', take(4))
    batch, manufacturer, model, hwid = s8(), s8(), s8(), s8()
    prov = struct.unpack('>q', take(8))[0] if take(1)[0] == 1 else None
    # optional fields (spec §4): u8 tag; tag 1 = i32 time drift, non-zero, at most once
    drift = 0
    while p < len(b):
        tag = take(1)[0]
        assert tag == 1 and drift == 0, 'optional field %d' % tag
        (drift,) = struct.unpack('>i', take(4))
        assert drift != 0, 'a zero time drift is left out'
    assert p == len(b), 'record length'
    return dict(serial=serial, seed=seed.hex(), hash={1: 'SHA1', 2: 'SHA256', 3: 'SHA512'}[hash_],
                digits=digits, mode=moving, expiry=expiry, batch=batch, manufacturer=manufacturer,
                model=model, hardware_id=hwid, provisioned_at=prov, time_drift=drift)


EXPECTED = [
    dict(serial='23456789', seed=b'12345678901234567890'.hex(), hash='SHA1', digits=6,
         mode=('totp', 30, 0), expiry=20250131, batch='B2024-001', manufacturer='Acme',
         model='TL-6', hardware_id='0a1b2c3d', provisioned_at=1700000000, time_drift=0),
    dict(serial='33456789', seed=bytes(range(0xa0, 0xc0)).hex(), hash='SHA256', digits=8,
         mode=('hotp', 5), expiry=0, batch='B2024-001', manufacturer='Acme', model='TL-8',
         hardware_id='', provisioned_at=None, time_drift=0),
]


def main():
    data_dir = sys.argv[1]
    bank = bytes(range(0x01, 0x21))
    psk = bytes(range(0x80, 0xa0))
    drifted = [dict(EXPECTED[0], time_drift=-2), EXPECTED[1]]
    for name, kw, expected in (('golden-x25519.tlseed', dict(private=bank), EXPECTED),
                               ('golden-psk.tlseed', dict(psk=psk), EXPECTED),
                               ('golden-psk-drift.tlseed', dict(psk=psk), drifted)):
        if VERBOSE:
            print('== ' + name)
        batch, created, records = parse(open('%s/%s' % (data_dir, name), 'rb').read(), **kw)
        assert batch == 'B2024-001' and created == 1700000100, 'header fields'
        assert records == expected, 'records differ: %r' % records
        print('ok ' + name)


if __name__ == '__main__':
    main()
