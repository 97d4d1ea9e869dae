import type { KernelRoute } from '../kernel/rtnetlink-codec.js';
import type { LinkLocal } from '../model/link-local.js';
import type { Mac } from '../model/mac.js';

/** A write to the kernel, as the reconciler plans it and the kernel port applies it. */
export type KernelOp =
  | { readonly kind: 'neigh.replace'; readonly ifindex: number; readonly ifname: string; readonly gateway: number; readonly mac: Mac; readonly protocol: number }
  | { readonly kind: 'neigh.delete'; readonly ifindex: number; readonly ifname: string; readonly gateway: number }
  | { readonly kind: 'neigh.probe'; readonly ifindex: number; readonly ifname: string; readonly linkLocal: LinkLocal }
  | { readonly kind: 'route.create'; readonly key: string; readonly route: KernelRoute }
  | { readonly kind: 'route.replace'; readonly key: string; readonly route: KernelRoute }
  | { readonly kind: 'route.delete'; readonly key: string; readonly route: KernelRoute };

export type OpResult = { readonly ok: true } | { readonly ok: false; readonly errno: number; readonly error: string };

/** 169.254.0.1: the IPv4 placeholder gateway that stands for the peer on an unnumbered link. */
export const PLACEHOLDER_GATEWAY = 0xa9fe0001;
