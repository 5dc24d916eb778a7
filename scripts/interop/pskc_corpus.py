#!/usr/bin/env python3
"""A corpus of PSKC (RFC 6030) variants for issue #13's check (scripts/test.d/pskc-corpus.sh).

Usage: pskc_corpus.py gen DIR
  Writes DIR/<name>.pskc for every variant and DIR/manifest.tsv, one line per file:
    name <TAB> key (plain | psk:<hex>) <TAB> expected (DIR/<name>.expected or '-') <TAB> names
  `expected` holds what python-pskc reads from the file as CSV rows
  (serial,seed_hex,algorithm,digits,counter,period), '-' when python-pskc refuses it;
  `names` lists the words (element, attribute or value) a refusal by tokenline must name.

The variants: the XML 1.0 encodings (UTF-8 with and without BOM and declaration, UTF-16 LE/BE,
ISO-8859-1 with a non-ASCII manufacturer, US-ASCII), namespace prefixes (default namespace,
`pskc:`, other prefixes for pskc/xenc/ds), optional elements present or absent (DeviceInfo,
Issuer, FriendlyName, ResponseFormat, Suite, Counter, Time, TimeInterval, TimeDrift, Policy
dates, PINPolicy, KeyUsage, NumberOfTransactions, encrypted Counter/Time values), every Algorithm
spelling (`:hotp`, `#hotp`, `:totp`, `#totp`), the encryption and MAC algorithm spellings
python-pskc knows (pskc/algorithms.py: aes128/192/256-cbc, the pbe-* aliases, kw-aes128/192/256,
tripledes-cbc, hmac-sha1 … hmac-sha512 and the hmac-sha-N aliases), and Suite spellings.

Defaults used when python-pskc reads None: digits 6, counter 0, time interval 30 (RFC 6030 and
tokenline's reading of an absent element).
"""
import binascii
import datetime
import os
import re
import sys

import pskc

HOTP = 'urn:ietf:params:xml:ns:keyprov:pskc:hotp'
TOTP = 'urn:ietf:params:xml:ns:keyprov:pskc:totp'
K16 = bytes(range(16))
K24 = bytes(range(24))
K32 = bytes(range(32))
UTC = datetime.timezone.utc


def base(alg=TOTP, suite='HMAC-SHA1', n=3, enc=None, key=K16, mac=None, fields=('secret',),
         manufacturer='Vendor', extra=None):
    """A python-pskc container with n keys."""
    p = pskc.PSKC()
    p.id = 'CORPUS'
    for i in range(n):
        seed = bytes((i * 13 + j * 7 + 3) % 256 for j in range(20 if 'SHA1' in suite.upper() or not suite else 32))
        kw = dict(serial='%d' % (81000000 + i), id='%d' % (81000000 + i), secret=seed,
                  manufacturer=manufacturer, algorithm=alg, response_encoding='DECIMAL',
                  response_length=6 + i % 3)
        if suite:
            kw['algorithm_suite'] = suite
        if alg.endswith('hotp'):
            kw['counter'] = i * 5
        else:
            kw['time_interval'] = 30 + 30 * (i % 2)
            kw['time_offset'] = 0
        if extra:
            kw.update(extra)
        p.add_key(**kw)
    if enc:
        p.encryption.setup_preshared_key(key=key, algorithm=enc, key_name='corpus', fields=list(fields))
        if mac:
            p.mac.algorithm = mac
    return p


def to_text(p):
    import io
    b = io.BytesIO()
    p.write(b)
    return b.getvalue().decode('utf-8')


def expected(path, key):
    """What python-pskc reads, as CSV rows; None when it refuses."""
    try:
        p = pskc.PSKC(path)
        if key:
            p.encryption.key = key
        rows = []
        for k in p.keys:
            alg = (k.algorithm or '').lower()
            kind = 'hotp' if alg.endswith('hotp') else 'totp' if alg.endswith('totp') else alg
            secret = k.secret
            if secret is None:
                return None
            digits = k.response_length or 6
            if kind == 'hotp':
                rows.append([k.serial or k.id, secret.hex(), kind, digits, k.counter or 0, ''])
            else:
                rows.append([k.serial or k.id, secret.hex(), kind, digits, '', k.time_interval or 30])
        return rows
    except Exception as e:  # python-pskc refuses this file
        print('  python-pskc refuses %s: %s' % (os.path.basename(path), e), file=sys.stderr)
        return None


def variants():
    """(name, text or bytes, key bytes or None, names a refusal must mention)."""
    out = []
    plain = to_text(base())
    psk = to_text(base(enc='aes128-cbc'))
    out.append(('base-plain', plain, None, []))
    out.append(('base-psk-aes128', psk, K16, []))

    # --- encodings XML 1.0 allows
    body = re.sub(r'^<\?xml[^>]*\?>\s*', '', psk)
    out.append(('enc-utf8-bom', b'\xef\xbb\xbf' + psk.encode('utf-8'), K16, ['encoding', 'UTF-8']))
    out.append(('enc-utf8-no-decl', body, K16, ['encoding', 'UTF-8']))
    for codec, label in (('utf-16-le', 'UTF-16'), ('utf-16-be', 'UTF-16')):
        text = '<?xml version="1.0" encoding="%s"?>\n' % label + body
        bom = b'\xff\xfe' if codec.endswith('le') else b'\xfe\xff'
        out.append(('enc-' + codec, bom + text.encode(codec), K16, ['UTF-8', 'encoding']))
    latin = to_text(base(enc='aes128-cbc', manufacturer='Société Générale'))
    latin = re.sub(r'^<\?xml[^>]*\?>', '<?xml version="1.0" encoding="ISO-8859-1"?>', latin)
    out.append(('enc-iso-8859-1', latin.encode('iso-8859-1'), K16, ['UTF-8', 'encoding']))
    ascii_ = re.sub(r'^<\?xml[^>]*\?>', '<?xml version="1.0" encoding="US-ASCII"?>', psk)
    out.append(('enc-us-ascii', ascii_.encode('ascii'), K16, ['UTF-8', 'encoding']))

    # --- namespace prefixes
    default_ns = psk.replace('<pskc:', '<').replace('</pskc:', '</').replace('xmlns:pskc=', 'xmlns=')
    out.append(('ns-default', default_ns, K16, []))
    other = psk.replace('pskc:', 'p:').replace('xmlns:p=', 'xmlns:p=').replace('xmlns:pskc=', 'xmlns:p=')
    other = other.replace('xenc:', 'e:').replace('xmlns:xenc=', 'xmlns:e=')
    other = other.replace('ds:', 'sig:').replace('xmlns:ds=', 'xmlns:sig=')
    out.append(('ns-other-prefixes', other, K16, []))

    # --- Algorithm spellings
    for alg, name in ((HOTP, 'colon-hotp'), (TOTP, 'colon-totp'),
                      ('urn:ietf:params:xml:ns:keyprov:pskc#hotp', 'hash-hotp'),
                      ('urn:ietf:params:xml:ns:keyprov:pskc#totp', 'hash-totp')):
        out.append(('alg-' + name, to_text(base(alg=alg, enc='aes128-cbc')), K16, ['Algorithm', 'HOTP']))

    # --- Suite spellings
    for suite in ('HMAC-SHA1', 'HMAC-SHA256', 'HMAC-SHA512', 'hmac-sha256', 'SHA256', 'HMAC-SHA-256', ''):
        out.append(('suite-' + (suite or 'absent'), to_text(base(suite=suite, enc='aes128-cbc')), K16,
                    ['Suite']))

    # --- encryption algorithm spellings python-pskc knows
    for enc, key in (('aes128-cbc', K16), ('aes192-cbc', K24), ('aes256-cbc', K32),
                     ('kw-aes128', K16), ('kw-aes192', K24), ('kw-aes256', K32),
                     ('tripledes-cbc', K24)):
        try:
            # python-pskc leaves MACMethod's required Algorithm out with key wrap (pskctool
            # then refuses the file): name the MAC so that the file is valid.
            text = to_text(base(enc=enc, key=key, mac='hmac-sha1' if enc.startswith('kw-') else None))
        except Exception as e:
            print('  python-pskc cannot write %s: %s' % (enc, e), file=sys.stderr)
            continue
        out.append(('cipher-' + enc, text, key, ['encryption', enc]))
    for alias, canon in (('pbe-aes128-cbc', 'aes128-cbc'), ('pbe-aes256-cbc', 'aes256-cbc')):
        key = K16 if '128' in canon else K32
        # python-pskc maps the alias only as a bare name, not inside the xmlenc URI.
        text = to_text(base(enc=canon, key=key)).replace(
            'http://www.w3.org/2001/04/xmlenc#' + canon, alias)
        out.append(('cipher-alias-' + alias, text, key, ['encryption', alias]))

    # --- MAC algorithm spellings
    for mac in ('hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'):
        out.append(('mac-' + mac, to_text(base(enc='aes128-cbc', mac=mac)), K16, ['MAC', mac]))
    for alias in ('hmac-sha-1', 'hmac-sha-256'):
        canon = alias.replace('sha-', 'sha')
        text = to_text(base(enc='aes128-cbc', mac=canon))
        text = re.sub(r'(#|xmldsig-more#)' + canon + '"', lambda m: m.group(1) + alias + '"', text)
        out.append(('mac-alias-' + alias, text, K16, ['MAC', alias]))

    # --- optional elements present / absent
    full = dict(issuer='Issuer-A', friendly_name='Token A', model='M-1', issue_no='2',
                device_userid='taro', key_userid='taro',
                start_date=datetime.datetime(2025, 1, 1, tzinfo=UTC),
                expiry_date=datetime.datetime(2031, 1, 31, tzinfo=UTC),
                policy__start_date=datetime.datetime(2025, 1, 1, 9, tzinfo=UTC),
                policy__expiry_date=datetime.datetime(2031, 1, 31, tzinfo=UTC),
                policy__pin_min_length=4, policy__pin_max_length=8, policy__pin_max_failed_attempts=3,
                policy__key_usage=['OTP'], policy__number_of_transactions=100,
                time_drift=-2)
    out.append(('opt-all-present-totp', to_text(base(enc='aes128-cbc', extra=full)), K16, []))
    hfull = dict(full)
    hfull.pop('time_drift')
    out.append(('opt-all-present-hotp', to_text(base(alg=HOTP, enc='aes128-cbc', extra=hfull)), K16, []))
    out.append(('opt-time-drift-plus3', to_text(base(enc='aes128-cbc', extra=dict(time_drift=3))), K16,
                ['TimeDrift']))
    out.append(('opt-time-nonzero', to_text(base(enc='aes128-cbc', extra=dict(time_offset=1000))), K16, []))
    out.append(('opt-encrypted-counter', to_text(base(alg=HOTP, enc='aes128-cbc',
                                                      fields=('secret', 'counter'))), K16, ['Counter']))
    out.append(('opt-encrypted-time', to_text(base(enc='aes128-cbc',
                                                   fields=('secret', 'time_offset', 'time_interval'))),
                K16, ['Time']))
    no_device = re.sub(r'\s*<pskc:DeviceInfo>.*?</pskc:DeviceInfo>', '', psk, flags=re.S)
    out.append(('opt-no-deviceinfo', no_device, K16, []))
    no_rf = re.sub(r'\s*<pskc:ResponseFormat[^>]*/>', '', psk)
    out.append(('opt-no-responseformat', no_rf, K16, ['ResponseFormat']))
    no_ti = re.sub(r'\s*<pskc:TimeInterval>.*?</pskc:TimeInterval>', '', psk, flags=re.S)
    out.append(('opt-no-timeinterval', no_ti, K16, ['TimeInterval']))
    hotp = to_text(base(alg=HOTP, enc='aes128-cbc'))
    no_counter = re.sub(r'\s*<pskc:Counter>.*?</pskc:Counter>', '', hotp, flags=re.S)
    out.append(('opt-no-counter', no_counter, K16, ['Counter']))
    no_params = re.sub(r'\s*<pskc:AlgorithmParameters>.*?</pskc:AlgorithmParameters>', '', psk, flags=re.S)
    out.append(('opt-no-algorithmparameters', no_params, K16, ['AlgorithmParameters']))
    return out


def gen(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'manifest.tsv'), 'w') as m:
        for name, content, key, names in variants():
            path = os.path.join(d, name + '.pskc')
            with open(path, 'wb') as f:
                f.write(content.encode('utf-8') if isinstance(content, str) else content)
            rows = expected(path, key)
            exp = '-'
            if rows is not None:
                exp = os.path.join(d, name + '.expected')
                with open(exp, 'w') as f:
                    for r in rows:
                        f.write(','.join(str(x) for x in r) + '\n')
            keyarg = 'plain' if key is None else 'psk:' + binascii.hexlify(key).decode()
            m.write('\t'.join([name, keyarg, exp, ','.join(names)]) + '\n')


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] != 'gen':
        sys.exit(__doc__)
    gen(sys.argv[2])
