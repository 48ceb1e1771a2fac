//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The AVX-512 stem rows vectorise over blocks of 16 output channels and
// broadcast one input value per input channel and tap.

func conv2dForwardRowSIMD(out, in []float32, f ConvFilter, b, oy, h, w, cin, cout, stride int) bool {
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	kyLo, kyHi := tapRange(oy, k, pad, stride, h)

	inImage := unsafe.Pointer(&in[b*h*w*cin])
	outRow := unsafe.Pointer(&out[(b*oh+oy)*ow*cout])
	weights := unsafe.Pointer(&f.Data[f.at(0, 0, 0)])
	tapRow, tapCol, inRowBytes := 4*f.KMax*f.CinMax*f.CoutMax, 4*f.CinMax*f.CoutMax, 4*f.CoutMax

	for ox := range ow {
		kxLo, kxHi := tapRange(ox, k, pad, stride, w)
		for cb := 0; cb < cout; cb += 16 {
			m := channelMask(cb, cout)
			var acc archsimd.Float32x16
			for ky := kyLo; ky < kyHi; ky++ {
				iy := oy*stride + ky - pad
				for kx := kxLo; kx < kxHi; kx++ {
					ix := ox*stride + kx - pad
					x := unsafe.Add(inImage, 4*((iy*w+ix)*cin))
					wt := ky*tapRow + kx*tapCol + 4*cb
					for ci := range cin {
						xv := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(x, 4*ci)))
						acc = xv.MulAdd(load16(unsafe.Add(weights, wt+ci*inRowBytes), m), acc)
					}
				}
			}
			store16(unsafe.Add(outRow, 4*(ox*cout+cb)), acc, m)
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}

func conv2dWeightGradRowSIMD(gw, dOut, in []float32, f ConvFilter, b, oy, h, w, cin, cout, stride int) bool {
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	kyLo, kyHi := tapRange(oy, k, pad, stride, h)

	gradRow := unsafe.Pointer(&dOut[(b*oh+oy)*ow*cout])
	gwBase := unsafe.Pointer(&gw[0])

	for ky := kyLo; ky < kyHi; ky++ {
		iy := oy*stride + ky - pad
		for kx := range k {
			last := w - 1 + pad - kx
			if last < 0 {
				continue
			}
			oxLo := max(0, (pad-kx+stride-1)/stride)
			oxHi := min(ow, last/stride+1)
			for ci := range cin {
				for cb := 0; cb < cout; cb += 16 {
					m := channelMask(cb, cout)
					dst := unsafe.Add(gwBase, 4*(((ky*k+kx)*cin+ci)*cout+cb))
					// Two accumulators halve the wait on FMA latency; their
					// sum order is fixed.
					acc0 := load16(dst, m)
					var acc1 archsimd.Float32x16
					inRow := in[(b*h+iy)*w*cin:]
					ox := oxLo
					for ; ox+2 <= oxHi; ox += 2 {
						ix := ox*stride + kx - pad
						x0 := archsimd.BroadcastFloat32x16(inRow[ix*cin+ci])
						x1 := archsimd.BroadcastFloat32x16(inRow[(ix+stride)*cin+ci])
						acc0 = x0.MulAdd(load16(unsafe.Add(gradRow, 4*(ox*cout+cb)), m), acc0)
						acc1 = x1.MulAdd(load16(unsafe.Add(gradRow, 4*((ox+1)*cout+cb)), m), acc1)
					}
					if ox < oxHi {
						ix := ox*stride + kx - pad
						acc0 = archsimd.BroadcastFloat32x16(inRow[ix*cin+ci]).MulAdd(load16(unsafe.Add(gradRow, 4*(ox*cout+cb)), m), acc0)
					}
					store16(dst, acc0.Add(acc1), m)
				}
			}
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}
