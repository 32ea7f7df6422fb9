// Original file: proto/mcpmux/v1/config.proto


export interface Endpoint {
  'address'?: (string);
  'port'?: (number);
  'ready'?: (boolean);
}

export interface Endpoint__Output {
  'address': (string);
  'port': (number);
  'ready': (boolean);
}
