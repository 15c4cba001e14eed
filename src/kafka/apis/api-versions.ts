/**
 * ApiVersions (key 18), v0-3: the APIs and versions this listener serves.
 *
 *   request v0-2   (empty)
 *   request v3     client_software_name compact_string, client_software_version compact_string, tagged_fields
 *   response v0    error_code int16, api_keys [api_key int16, min_version int16, max_version int16]
 *   response v1-2  v0, throttle_time_ms int32
 *   response v3    error_code int16, api_keys compact[api_key int16, min_version int16, max_version int16,
 *                  tagged_fields], throttle_time_ms int32, tagged_fields
 *
 * Its response header is v0 at every version, even v3 (KIP-511): a client that asked with a version
 * this node does not serve can still read the answer, which is then error 35 UNSUPPORTED_VERSION
 * in the v0 layout with the ranges served (`unsupportedVersion`), and it asks again with one of them.
 */
import type { KafkaApi } from '../api.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode } from '../errors.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';

export const API_VERSIONS_KEY = 18;

export interface ApiRange {
  readonly key: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

interface ApiVersionsResponse {
  readonly errorCode: KafkaErrorCode;
  readonly apis: readonly ApiRange[];
}

/** ApiVersions over the APIs `served` lists (this one included, once the list is complete). */
export function apiVersions(served: () => readonly ApiRange[]): KafkaApi<null, ApiVersionsResponse> {
  return {
    key: API_VERSIONS_KEY,
    name: 'ApiVersions',
    replyBytes: () => KAFKA_RESPONSE_BYTES,
    minVersion: 0,
    maxVersion: 3,
    flexibleFrom: 3,
    decode(r: KafkaReader, version: number): null {
      if (version >= 3) {
        r.compactString('client_software_name');
        r.compactString('client_software_version');
        r.taggedFields();
      }
      return null;
    },
    serve: () => Promise.resolve({ errorCode: KafkaErrorCode.None, apis: served() }),
    encode(w: KafkaWriter, version: number, res: ApiVersionsResponse): void {
      w.int16(res.errorCode);
      if (version >= 3) {
        w.compactArray(res.apis, (x, a) => x.int16(a.key).int16(a.minVersion).int16(a.maxVersion).taggedFields());
        w.int32(0);
        w.taggedFields();
        return;
      }
      w.array(res.apis, (x, a) => x.int16(a.key).int16(a.minVersion).int16(a.maxVersion));
      if (version >= 1) w.int32(0);
    },
  };
}

/** The answer to an ApiVersions of a version not served: v0 layout, error 35, the ranges served. */
export function unsupportedVersion(w: KafkaWriter, served: readonly ApiRange[]): void {
  w.int16(KafkaErrorCode.UnsupportedVersion);
  w.array(served, (x, a) => x.int16(a.key).int16(a.minVersion).int16(a.maxVersion));
}
