package sched

import "math/bits"

// This file holds the two hash functions the kernel's hashing schedulers
// use: hash_32 (sh, dh) and hsiphash (mh), as a 64-bit little-endian
// kernel computes them.

// goldenRatio32 is the kernel's GOLDEN_RATIO_32, the multiplier of hash_32.
const goldenRatio32 = 0x61C88647

// hash32 is the kernel's hash_32(x, bits): the high bits of x times the
// golden ratio.
func hash32(x uint32, nbits uint) uint32 { return x * goldenRatio32 >> (32 - nbits) }

// A sipKey is a hsiphash_key_t of a 64-bit kernel: two 64-bit words.
type sipKey [2]uint64

// sipHash is SipHash-c-d of msg under key, the 64-bit result. The kernel's
// hsiphash on 64-bit machines is SipHash-1-3 truncated to 32 bits; the
// rounds are parameters so that the tests can check the function against
// the published SipHash-2-4 vectors too.
func sipHash(c, d int, key sipKey, msg []byte) uint64 {
	v0 := key[0] ^ 0x736f6d6570736575
	v1 := key[1] ^ 0x646f72616e646f6d
	v2 := key[0] ^ 0x6c7967656e657261
	v3 := key[1] ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	compress := func(m uint64) {
		v3 ^= m
		for range c {
			round()
		}
		v0 ^= m
	}
	n := len(msg)
	for len(msg) >= 8 {
		compress(le64(msg))
		msg = msg[8:]
	}
	last := uint64(n) << 56
	for i, b := range msg {
		last |= uint64(b) << (8 * i)
	}
	compress(last)
	v2 ^= 0xff
	for range d {
		round()
	}
	return v0 ^ v1 ^ v2 ^ v3
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// hsiphash32 is the kernel's hsiphash(&v, 4, key) of a u32 on a 64-bit
// little-endian machine.
func hsiphash32(v uint32, key sipKey) uint32 {
	msg := [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	return uint32(sipHash(1, 3, key, msg[:]))
}
