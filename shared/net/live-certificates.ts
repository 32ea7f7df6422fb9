// TLS material that changes while connections stay up: the control plane's serving certificate
// and trust bundle (CA rotation), a proxy's short-lived client certificate (renewal). grpc-js takes
// it as a CertificateProvider on either side (createCertificateProvider{Server,Channel}Credentials):
// new handshakes use the newest material, established connections are left alone.
import * as grpc from '@grpc/grpc-js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface LiveMaterial {
  /** PEM bundle of every CA trusted now. */
  ca: string;
  /** PEM certificate (chain) and key; absent for a client that has none yet. */
  cert?: string | undefined;
  key?: string | undefined;
}

export class LiveCertificates implements grpc.experimental.CertificateProvider {
  #material: LiveMaterial | undefined;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();

  get current(): Readonly<LiveMaterial> | undefined {
    return this.#material;
  }

  /** Replaces the material; listeners hear only what changed. */
  set(material: LiveMaterial): void {
    const before = this.#material;
    this.#material = { ...material };
    if (before?.ca !== material.ca) for (const listener of this.#caListeners) listener(this.#caUpdate());
    if (before?.cert !== material.cert || before?.key !== material.key) for (const listener of this.#identityListeners) listener(this.#identityUpdate());
  }

  // A new listener hears the current material on the next tick, not during the call: grpc-js's
  // server credentials register their own watcher only after adding the listener, and would miss it.
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => {
      if (this.#material && this.#caListeners.has(listener)) listener(this.#caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#material?.cert && this.#identityListeners.has(listener)) listener(this.#identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }

  #caUpdate(): grpc.experimental.CaCertificateUpdate | null {
    return this.#material ? { caCertificate: Buffer.from(this.#material.ca) } : null;
  }

  #identityUpdate(): grpc.experimental.IdentityCertificateUpdate | null {
    const material = this.#material;
    return material?.cert && material.key ? { certificate: Buffer.from(material.cert), privateKey: Buffer.from(material.key) } : null;
  }
}

/**
 * Server credentials over live material. Client certificates are asked for, verified against the
 * bundle, and not required at the handshake: a proxy without one yet may still ask for its
 * certificate (its token is its credential there); every other service checks the verified peer
 * certificate itself (grpc-js reports a peer certificate only when it verified).
 */
export function liveServerCredentials(live: LiveCertificates): grpc.ServerCredentials {
  // grpc-js passes its two provider arguments on in swapped order; one object serves as both.
  return grpc.experimental.createCertificateProviderServerCredentials(live, live, false);
}

/** Channel credentials over live material: the server is checked against the bundle; the client certificate is the newest. */
export function liveChannelCredentials(live: LiveCertificates): grpc.ChannelCredentials {
  return grpc.experimental.createCertificateProviderChannelCredentials(live, live);
}
