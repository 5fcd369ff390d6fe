/**
 * The signature settings: SIGNATURE_PRESET and the parts it sets (SIGNATURE_HEADER,
 * SIGNATURE_ENCODING, SIGNATURE_PREFIX, SIGNED_CONTENT, TIMESTAMP_HEADER, DELIVERY_ID_HEADER),
 * explicit values overriding them, and every contradiction refused with one message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, defaultConfig, loadConfig, loadSigningSettings, redactedConfig, settingsHelp, signatureScheme, type Config } from '../../src/config.js';

const scheme = (c: Config) => ({
  preset: c.signaturePreset,
  header: c.signatureHeader,
  encoding: c.signatureEncoding,
  prefix: c.signaturePrefix,
  content: c.signedContent,
  timestampHeader: c.timestampHeader,
  requireTimestamp: c.requireTimestamp,
  deliveryIdHeader: c.deliveryIdHeader,
});

const TODAY = {
  preset: 'nice-data-action',
  header: 'x-nice-signature',
  encoding: 'hex',
  prefix: 'none',
  content: 'body',
  timestampHeader: 'x-nice-timestamp',
  requireTimestamp: false,
  deliveryIdHeader: undefined,
};

const EXPERT = {
  preset: 'nice-expert',
  header: 'x-nexus-signature-256',
  encoding: 'hex',
  prefix: 'required',
  content: 'timestamp.body',
  timestampHeader: 'x-nexus-timestamp',
  requireTimestamp: true,
  deliveryIdHeader: 'x-nexus-delivery-id',
};

function refused(env: Record<string, string>, argv: string[], message: RegExp): void {
  assert.throws(
    () => loadConfig(env, argv),
    (err: unknown) => err instanceof ConfigError && message.test(err.message),
    `${JSON.stringify(env)} ${argv.join(' ')} → ${message}`,
  );
}

describe('signature settings', () => {
  it('default: nice-data-action, exactly the scheme the daemon always had', () => {
    assert.deepEqual(scheme(loadConfig({})), TODAY);
    assert.deepEqual(scheme(defaultConfig()), TODAY);
    assert.deepEqual(scheme(loadConfig({ SIGNATURE_PRESET: 'nice-data-action' })), TODAY);
    assert.deepEqual(signatureScheme(loadConfig({})), {
      header: 'x-nice-signature',
      encoding: 'hex',
      prefix: 'none',
      signedContent: 'body',
      timestampHeader: 'x-nice-timestamp',
    });
  });

  it('nice-expert: X-Nexus-Signature-256, sha256= required, <timestamp>.<body>, X-Nexus-Timestamp required, X-Nexus-Delivery-Id', () => {
    assert.deepEqual(scheme(loadConfig({ SIGNATURE_PRESET: 'nice-expert' })), EXPERT);
    assert.deepEqual(scheme(loadConfig({}, ['--signature-preset', 'NICE-Expert'])), EXPERT, 'case-insensitive, like every choice');
  });

  it('explicit settings override the preset part by part, from the environment or the command line (flags win)', () => {
    const c = loadConfig(
      { SIGNATURE_PRESET: 'nice-expert', SIGNATURE_ENCODING: 'base64', SIGNATURE_HEADER: 'X-Custom-Sig', SIGNATURE_PREFIX: 'none' },
      ['--signature-prefix', 'optional', '--delivery-id-header=X-Request-Id'],
    );
    assert.deepEqual(scheme(c), { ...EXPERT, header: 'x-custom-sig', encoding: 'base64', prefix: 'optional', deliveryIdHeader: 'x-request-id' });
    // A part given in the environment overrides a preset chosen on the command line.
    assert.deepEqual(scheme(loadConfig({ TIMESTAMP_HEADER: 'X-Sent-At' }, ['--signature-preset', 'nice-expert'])), { ...EXPERT, timestampHeader: 'x-sent-at' });
    // The default preset with parts of the other scheme.
    assert.deepEqual(scheme(loadConfig({ SIGNATURE_PREFIX: 'required', SIGNED_CONTENT: 'timestamp.body' })), {
      ...TODAY,
      prefix: 'required',
      content: 'timestamp.body',
      requireTimestamp: true,
    });
    // Empty values count as unset, as for every other setting.
    assert.deepEqual(scheme(loadConfig({ SIGNATURE_PRESET: 'nice-expert', REQUIRE_TIMESTAMP: '' })), EXPERT);
    assert.deepEqual(scheme(loadConfig({ REQUIRE_TIMESTAMP: '1' })), { ...TODAY, requireTimestamp: true });
  });

  it('refuses unknown values, naming the setting and what it accepts', () => {
    refused({ SIGNATURE_PRESET: 'nice-cxone' }, [], /^SIGNATURE_PRESET \(--signature-preset\) must be one of nice-data-action, nice-expert, got "nice-cxone"/);
    refused({}, ['--signature-preset', ''], /^SIGNATURE_PRESET .*must be one of nice-data-action, nice-expert/);
    refused({ SIGNATURE_ENCODING: 'base64url' }, [], /^SIGNATURE_ENCODING \(--signature-encoding\) must be one of hex, base64/);
    refused({ SIGNATURE_PREFIX: 'sha256=' }, [], /^SIGNATURE_PREFIX \(--signature-prefix\) must be one of none, optional, required/);
    refused({ SIGNED_CONTENT: 'timestamp+body' }, [], /^SIGNED_CONTENT \(--signed-content\) must be one of body, timestamp\.body/);
    refused({ SIGNATURE_HEADER: 'X Signature' }, [], /^SIGNATURE_HEADER \(--signature-header\) must be an HTTP header name/);
    refused({ DELIVERY_ID_HEADER: '' }, [], /^DELIVERY_ID_HEADER \(--delivery-id-header\) must not be empty/);
    refused({ DEDUP_KEY_FIELDS: 'deliveryID' }, [], /unknown field "deliveryID"; use a comma-separated list of interactionId, dataActionId, updatedTimestamp, deliveryId/);
  });

  it('refuses a timestamp.body scheme without a replay window, and REQUIRE_TIMESTAMP=0 with it', () => {
    refused(
      { SIGNATURE_PRESET: 'nice-expert', REPLAY_WINDOW_SECONDS: '0' },
      [],
      /^SIGNED_CONTENT=timestamp\.body \(from SIGNATURE_PRESET=nice-expert\) requires the timestamp header, and a required timestamp needs a replay window, but REPLAY_WINDOW_SECONDS \(--replay-window\) is 0/,
    );
    refused({ SIGNED_CONTENT: 'timestamp.body' }, ['--replay-window', '0'], /^SIGNED_CONTENT=timestamp\.body requires the timestamp header/);
    refused({ SIGNATURE_PRESET: 'nice-expert', REQUIRE_TIMESTAMP: '0' }, [], /^REQUIRE_TIMESTAMP \(--require-timestamp\) is off, but SIGNED_CONTENT=timestamp\.body \(from SIGNATURE_PRESET=nice-expert\) signs <timestamp>\.<body>/);
    refused({ SIGNED_CONTENT: 'timestamp.body' }, ['--require-timestamp=false'], /^REQUIRE_TIMESTAMP .* is off, but SIGNED_CONTENT=timestamp\.body signs/);
    // What stays allowed: body without a window (today), nice-expert's senders with SIGNED_CONTENT=body and no window.
    assert.equal(loadConfig({ REPLAY_WINDOW_SECONDS: '0' }).requireTimestamp, false);
    assert.deepEqual(scheme(loadConfig({ SIGNATURE_PRESET: 'nice-expert', SIGNED_CONTENT: 'body', REPLAY_WINDOW_SECONDS: '0' })), {
      ...EXPERT,
      content: 'body',
      requireTimestamp: false,
    });
    assert.equal(loadConfig({ SIGNATURE_PRESET: 'nice-expert', REQUIRE_TIMESTAMP: '1' }).requireTimestamp, true);
    // Today's rule is unchanged.
    refused({ REQUIRE_TIMESTAMP: '1', REPLAY_WINDOW_SECONDS: '0' }, [], /^REQUIRE_TIMESTAMP \(--require-timestamp\) needs a replay window/);
  });

  it('refuses one header for two jobs, and headers HTTP itself uses', () => {
    refused({ SIGNATURE_HEADER: 'X-NICE-Timestamp' }, [], /^SIGNATURE_HEADER and TIMESTAMP_HEADER are both X-NICE-Timestamp: one header cannot carry both/);
    refused({ SIGNATURE_PRESET: 'nice-expert', DELIVERY_ID_HEADER: 'x-nexus-signature-256' }, [], /^SIGNATURE_HEADER and DELIVERY_ID_HEADER are both X-Nexus-Signature-256/);
    refused({ SIGNATURE_PRESET: 'nice-expert', TIMESTAMP_HEADER: 'X-Nexus-Delivery-Id' }, [], /^TIMESTAMP_HEADER and DELIVERY_ID_HEADER are both X-Nexus-Delivery-Id/);
    refused({ SIGNATURE_HEADER: 'Content-Length' }, [], /^SIGNATURE_HEADER must not be content-length: HTTP itself uses that header/);
    refused({ DELIVERY_ID_HEADER: 'Transfer-Encoding' }, [], /^DELIVERY_ID_HEADER must not be transfer-encoding/);
  });

  it('DEDUP_KEY_FIELDS=deliveryId needs a delivery-id header', () => {
    refused(
      { DEDUP_KEY_FIELDS: 'deliveryId' },
      [],
      /^DEDUP_KEY_FIELDS \(--dedup-key-fields\) uses deliveryId, but SIGNATURE_PRESET=nice-data-action has no delivery-id header: set DELIVERY_ID_HEADER/,
    );
    assert.deepEqual(loadConfig({ DEDUP_KEY_FIELDS: 'deliveryId', SIGNATURE_PRESET: 'nice-expert' }).dedupKeyFields, ['deliveryId']);
    const c = loadConfig({ DEDUP_KEY_FIELDS: 'interactionId, deliveryId', DELIVERY_ID_HEADER: 'X-Request-Id' });
    assert.deepEqual([c.dedupKeyFields, c.deliveryIdHeader], [['interactionId', 'deliveryId'], 'x-request-id']);
  });

  it('--help and the logged configuration show every signature setting, with the presets\' defaults', () => {
    const help = settingsHelp();
    for (const env of ['SIGNATURE_PRESET', 'SIGNATURE_HEADER', 'SIGNATURE_ENCODING', 'SIGNATURE_PREFIX', 'SIGNED_CONTENT', 'TIMESTAMP_HEADER', 'REQUIRE_TIMESTAMP', 'DELIVERY_ID_HEADER']) {
      assert.match(help, new RegExp(`\\b${env}\\b`), env);
    }
    assert.match(help, /--signature-preset nice-data-action\|nice-expert/);
    assert.match(help, /default: from SIGNATURE_PRESET; nice-data-action: x-nice-signature, nice-expert: x-nexus-signature-256/);
    assert.match(help, /default: from SIGNATURE_PRESET; nice-data-action: none, nice-expert: x-nexus-delivery-id/);
    const logged = redactedConfig(loadConfig({ SIGNATURE_PRESET: 'nice-expert' }));
    assert.equal(logged.signatureHeader, 'x-nexus-signature-256');
    assert.equal(logged.signedContent, 'timestamp.body');
  });
});

describe('loadSigningSettings (the settings cxone-dedup sign/send share with the daemon)', () => {
  it('reads the same variables and flags, with the same preset rules and messages', () => {
    const s = loadSigningSettings({ SIGNATURE_PRESET: 'nice-expert', SIGNATURE_ENCODING: 'base64' }, { '--signature-prefix': 'optional' });
    assert.deepEqual(s, {
      signaturePreset: 'nice-expert',
      signatureHeader: 'x-nexus-signature-256',
      signatureEncoding: 'base64',
      signaturePrefix: 'optional',
      signedContent: 'timestamp.body',
      timestampHeader: 'x-nexus-timestamp',
      requireTimestamp: true,
      deliveryIdHeader: 'x-nexus-delivery-id',
    });
    assert.deepEqual(loadSigningSettings({}).signatureHeader, 'x-nice-signature');
    assert.equal(loadSigningSettings({}, { '--require-timestamp': 'true' }).requireTimestamp, true);
    assert.throws(() => loadSigningSettings({ SIGNATURE_PRESET: 'x' }), /^ConfigError: SIGNATURE_PRESET \(--signature-preset\) must be one of nice-data-action, nice-expert/);
    assert.throws(() => loadSigningSettings({ SIGNATURE_PRESET: 'nice-expert', REQUIRE_TIMESTAMP: 'off' }), /REQUIRE_TIMESTAMP .* is off, but SIGNED_CONTENT=timestamp\.body/);
    assert.throws(() => loadSigningSettings({}, { '--port': '1' }), /unknown option "--port"/);
  });

  it('ignores what only the daemon decides: the replay window and the key fields', () => {
    assert.doesNotThrow(() => loadSigningSettings({ SIGNATURE_PRESET: 'nice-expert', REPLAY_WINDOW_SECONDS: '0', DEDUP_KEY_FIELDS: 'nonsense' }));
  });
});
