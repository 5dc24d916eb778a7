#!/usr/bin/env python3
"""PSKC (RFC 6030) interop between tokenline and python-pskc.

Sub-commands (called by scripts/test.d/pskc-interop.sh and scripts/bench.d/seeds.sh):

  check-ours FILE CSV (--psk HEX | --passphrase P | --plaintext)
      python-pskc reads tokenline's PSKC FILE; every key must equal the row of the same
      serial in CSV (written by `tokenline seeds decrypt`): secret, algorithm, digits,
      counter / time interval, expiry date.
  write-theirs OUT (--psk HEX --algorithm A | --passphrase P | --plaintext) [--count N]
      python-pskc writes N keys (HOTP and TOTP, several hashes); prints the expected CSV
      rows (serial,seed_hex,algorithm,digits,counter,period) on stdout.
  compare-csv EXPECTED OURS
      the rows of EXPECTED must appear in tokenline's CSV OURS with the same values.
  bench-read FILE (--psk HEX | --passphrase P)
      reads FILE and decrypts every secret; prints the key count.
"""
import argparse
import binascii
import csv
import datetime
import sys

import pskc

HOTP = 'urn:ietf:params:xml:ns:keyprov:pskc:hotp'
TOTP = 'urn:ietf:params:xml:ns:keyprov:pskc:totp'


def fail(msg):
    print('MISMATCH: ' + msg, file=sys.stderr)
    sys.exit(1)


def open_pskc(path, args):
    p = pskc.PSKC(path)
    if args.psk:
        p.encryption.key = binascii.unhexlify(args.psk)
    elif args.passphrase:
        p.encryption.derive_key(args.passphrase)
    return p


def check_ours(args):
    rows = {r['serial']: r for r in csv.DictReader(open(args.csv, newline=''))}
    p = open_pskc(args.file, args)
    seen = 0
    for key in p.keys:
        row = rows.get(key.serial)
        if row is None:
            fail('serial %s is in the PSKC file but not in the CSV' % key.serial)
        secret = binascii.hexlify(key.secret).decode()
        if secret != row['seed_hex']:
            fail('serial %s: python-pskc secret differs from tokenline decrypt' % key.serial)
        want_alg = HOTP if row['algorithm'] == 'hotp' else TOTP
        if key.algorithm != want_alg:
            fail('serial %s: algorithm %s != %s' % (key.serial, key.algorithm, want_alg))
        if key.response_length != int(row['digits']):
            fail('serial %s: digits %s != %s' % (key.serial, key.response_length, row['digits']))
        if row['algorithm'] == 'hotp' and key.counter != int(row['counter']):
            fail('serial %s: counter %s != %s' % (key.serial, key.counter, row['counter']))
        if row['algorithm'] == 'totp' and key.time_interval != int(row['period']):
            fail('serial %s: interval %s != %s' % (key.serial, key.time_interval, row['period']))
        if row['hash'] not in (key.algorithm_suite or 'SHA1').replace('-', '').upper():
            fail('serial %s: suite %s does not name %s' % (key.serial, key.algorithm_suite, row['hash']))
        if row['expiry'] and key.policy.expiry_date.date().isoformat() != row['expiry']:
            fail('serial %s: expiry %s != %s' % (key.serial, key.policy.expiry_date, row['expiry']))
        seen += 1
    if seen != len(rows):
        fail('python-pskc read %d keys, the CSV has %d' % (seen, len(rows)))
    print(seen)


def write_theirs(args):
    p = pskc.PSKC()
    p.id = 'PYBATCH'
    out = csv.writer(sys.stdout, lineterminator='\n')
    suites = [('HMAC-SHA1', 20), ('HMAC-SHA256', 32), ('HMAC-SHA512', 64)]
    for i in range(args.count):
        suite, seed_len = suites[i % 3]
        seed = bytes((i * 31 + j * 7 + 1) % 256 for j in range(seed_len))
        serial = '%d' % (70000000 + i)
        common = dict(
            serial=serial, id=serial, secret=seed, manufacturer='PyVendor', model='PY-1',
            algorithm_suite=suite, response_encoding='DECIMAL',
            policy__expiry_date=datetime.datetime(2031, 3, 31, tzinfo=datetime.timezone.utc),
        )
        if i % 2 == 0:
            p.add_key(algorithm=HOTP, response_length=6 + i % 3, counter=i * 10, **common)
            out.writerow([serial, seed.hex(), 'hotp', 6 + i % 3, i * 10, ''])
        else:
            p.add_key(algorithm=TOTP, response_length=6, time_interval=30 + 30 * (i % 2),
                      time_offset=0, **common)
            out.writerow([serial, seed.hex(), 'totp', 6, '', 60])
    fields = ['secret', 'counter', 'time_offset', 'time_interval']
    if args.psk:
        p.encryption.setup_preshared_key(key=binascii.unhexlify(args.psk), algorithm=args.algorithm,
                                         key_name='interop', fields=fields)
    elif args.passphrase:
        p.encryption.setup_pbkdf2(args.passphrase, iterations=2000, key_name='interop', fields=fields)
    p.write(args.out)


def compare_csv(args):
    ours = {r['serial']: r for r in csv.DictReader(open(args.ours, newline=''))}
    n = 0
    for serial, seed_hex, alg, digits, counter, period in csv.reader(open(args.expected, newline='')):
        r = ours.get(serial)
        if r is None:
            fail('serial %s written by python-pskc is missing from tokenline output' % serial)
        got = (r['seed_hex'], r['algorithm'], r['digits'], r['counter'], r['period'])
        want = (seed_hex, alg, digits, counter, period)
        if got != want:
            fail('serial %s: tokenline read %s, python-pskc wrote %s' % (
                serial, got[1:], want[1:]) + ('' if got[0] == want[0] else ' (secret differs)'))
        n += 1
    if n != len(ours):
        fail('tokenline read %d keys, python-pskc wrote %d' % (len(ours), n))
    print(n)


def bench_read(args):
    p = open_pskc(args.file, args)
    n = 0
    for key in p.keys:
        if not key.secret:
            fail('no secret')
        n += 1
    print(n)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('check-ours', 'write-theirs', 'bench-read'):
        s = sub.add_parser(name)
        s.add_argument('--psk')
        s.add_argument('--passphrase')
        s.add_argument('--plaintext', action='store_true')
        s.add_argument('--algorithm', default='aes128-cbc')
        s.add_argument('--count', type=int, default=12)
        if name == 'write-theirs':
            s.add_argument('out')
        else:
            s.add_argument('file')
        if name == 'check-ours':
            s.add_argument('csv')
    s = sub.add_parser('compare-csv')
    s.add_argument('expected')
    s.add_argument('ours')
    args = ap.parse_args()
    {'check-ours': check_ours, 'write-theirs': write_theirs, 'compare-csv': compare_csv,
     'bench-read': bench_read}[args.cmd](args)


if __name__ == '__main__':
    main()
