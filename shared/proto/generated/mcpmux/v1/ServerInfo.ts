// Original file: proto/mcpmux/v1/config.proto


export interface ServerInfo {
  'name'?: (string);
  'version'?: (string);
}

export interface ServerInfo__Output {
  'name': (string);
  'version': (string);
}
