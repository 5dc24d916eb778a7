#!/usr/bin/env python3
"""An independent computation of the sealed seed record (spec/wire-format.md §10), written from
the spec alone with the `cryptography` package, and of the GenerateSealed / Sealed frames of
§10.4. It prints every intermediate value; with --check it compares them with the values the
spec and crates/sealed-seed/tests/vectors.rs state, and exits 1 on any difference.

Usage: sealed_vectors.py [--check]
"""
import binascii
import hashlib
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw

# The inputs of the worked example (spec §10.5).
SEED = b'12345678901234567890'                       # RFC 6238 Appendix B SHA-1 seed
BANK_SECRET = bytes.fromhex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')  # RFC 7748 §6.1 Bob
DEVICE_SECRET = bytes.fromhex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')  # RFC 8032 §7.1 test 1
SERIAL = b'23456789'
HARDWARE_ID = bytes.fromhex('0123456789abcdef')
EXPIRY = (2031, 1, 31)
PARAMS = bytes([0, 6, 1]) + struct.pack('<IQ', 30, 0)   # SHA-1, 6 digits, TOTP 30 s, T0 0


def hkdf(salt, ikm, info, n=32):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(ikm)


def compute():
    v = {}
    bank = X25519PrivateKey.from_private_bytes(BANK_SECRET)
    bank_pub = bank.public_key().public_bytes(*RAW)
    key_id = hashlib.sha256(b'tokenline-seedfile/v1/key-id' + b'\x01' + bank_pub).digest()[:8]
    ad = (b'tokenline-sealed/v1' + bytes([len(SERIAL)]) + SERIAL + HARDWARE_ID
          + struct.pack('<HBB', *EXPIRY) + PARAMS + key_id)
    e = hkdf(b'tokenline-sealed/v1/ephemeral', SEED, bank_pub + ad)
    eph = X25519PrivateKey.from_private_bytes(e)
    eph_pub = eph.public_key().public_bytes(*RAW)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(bank_pub))
    assert shared == bank.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    k = hkdf(eph_pub + bank_pub, shared, b'tokenline-sealed/v1/seed-key')
    ct = AESGCM(k).encrypt(b'\x00' * 12, SEED, ad)
    assert AESGCM(k).decrypt(b'\x00' * 12, ct, ad) == SEED
    device = Ed25519PrivateKey.from_private_bytes(DEVICE_SECRET)
    device_pub = device.public_key().public_bytes(*RAW)
    msg = (b'tokenline-sealed/v1/attest' + bank_pub + eph_pub + bytes([len(ad)]) + ad
           + bytes([len(ct)]) + ct)
    sig = device.sign(msg)
    v.update(bank_public=bank_pub, bank_key_id=key_id, associated_data=ad, ephemeral_secret=e,
             ephemeral_public=eph_pub, shared_secret=shared, seed_key=k, ciphertext=ct,
             device_public=device_pub, signature=sig)
    # Frames of §10.4 (version 3, seq 7 and 8): GenerateSealed and its Sealed answer.
    req = (HARDWARE_ID + bank_pub + key_id + bytes([len(SEED)]) + bytes([len(SERIAL)]) + SERIAL
           + struct.pack('<HBB', *EXPIRY) + PARAMS)
    v['generate_sealed_frame'] = frame(0x07, 7, req)
    resp = eph_pub + bytes([len(ct)]) + ct + sig
    v['sealed_frame'] = frame(0x84, 7, resp)
    return v


def frame(kind, seq, payload):
    body = bytes([3, kind]) + struct.pack('<H', seq) + payload
    return body + struct.pack('<I', binascii.crc32(body) & 0xffffffff)


# The values the spec states (and tests/vectors.rs asserts), checked with --check.
EXPECTED = {
    'bank_public':
        'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
    'bank_key_id':
        'b4b66867b95856a0',
    'associated_data':
        '746f6b656e6c696e652d7365616c65642f76310832333435363738390123456789abcdefef07011f0006011e0000000000000000000000b4b66867b95856a0',
    'ephemeral_secret':
        'd3342833b222dc8a8c311464357abf6a25d130e61075d9b619a0eaaac8d82413',
    'ephemeral_public':
        '585024f914aa235f34c8b49d59faa690dc37e71a5c2b45494eb6952567774958',
    'shared_secret':
        '6d3452c44421ec8629005f2646cc7b5a2651f3c1b6384659a5229ca77b87ed66',
    'seed_key':
        '0c599e8a48b662c82d0b95f75fa7bd86d41a37e4f03f2f720bd5318690330b1d',
    'ciphertext':
        'c3a0c206ef051eacf697528ff6e8daa412a5541182741f4790faba10901a14308242b75f',
    'device_public':
        'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    'signature':
        'bb4fc01f6550d7f7c0a6865648d24f1da5d9c7ebbca447fb0202677c80e5efbca6d95458608224e31542108fa1ab7564e6ba82d16c70aa1143ef7f0b68014f03',
    'generate_sealed_frame':
        '030707000123456789abcdefde9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4fb4b66867b95856a014083233343536373839ef07011f0006011e0000000000000000000000d8ec356d',
    'sealed_frame':
        '03840700585024f914aa235f34c8b49d59faa690dc37e71a5c2b45494eb695256777495824c3a0c206ef051eacf697528ff6e8daa412a5541182741f4790faba10901a14308242b75fbb4fc01f6550d7f7c0a6865648d24f1da5d9c7ebbca447fb0202677c80e5efbca6d95458608224e31542108fa1ab7564e6ba82d16c70aa1143ef7f0b68014f03e9c93b1f',
}

if __name__ == '__main__':
    values = compute()
    bad = 0
    for name, value in values.items():
        print('%-22s %s' % (name, value.hex()))
        if '--check' in sys.argv and EXPECTED.get(name) != value.hex():
            print('  MISMATCH: spec says %s' % EXPECTED.get(name), file=sys.stderr)
            bad += 1
    sys.exit(1 if bad else 0)
