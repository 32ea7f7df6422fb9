// Original file: proto/mcpmux/v1/admin.proto

import type { VersionInfo as _mcpmux_v1_VersionInfo, VersionInfo__Output as _mcpmux_v1_VersionInfo__Output } from '../../mcpmux/v1/VersionInfo.ts';

export interface ListVersionsResponse {
  'versions'?: (_mcpmux_v1_VersionInfo)[];
  /**
   * Empty on the last page.
   */
  'nextPageToken'?: (string);
}

export interface ListVersionsResponse__Output {
  'versions': (_mcpmux_v1_VersionInfo__Output)[];
  /**
   * Empty on the last page.
   */
  'nextPageToken': (string);
}
