;; The NUTS transition of nuts.ts, statement for statement, as WebAssembly: the same floating-point operations in the
;; same order, the same random draws, so a chain's draws are bit-identical to the JavaScript kernel's (the test runs
;; both). It exists for the chain's first milliseconds: V8 compiles a module like this in well under a millisecond,
;; where TurboFan spends 30–50 ms of each fresh chain worker on the JavaScript kernel's buildTree and transition
;; (bench/README.md, "The sampler's own code in WebAssembly"). Assembled by scripts/assemble-wat.ts into
;; nuts-wasm-binary.ts; nuts-wasm.ts lays out the memory and is the kernel's JavaScript face.
;;
;; Memory (laid out by nuts-wasm.ts, its byte offsets in the i32 header at 0, read by `setup`): a vector is `dim`
;; doubles (`bytes` = 8·dim); a point is q, p, grad (three vectors) then logp (one double), so one memory.copy copies a
;; point; a tree level is its six vectors then its zProposeFinal point. The ziggurat's tables, the generator's state
;; (four i32: xoshiro128**, held in globals during a call), the weights' slots, the outputs of `transition` and the
;; rows `transitions` records have their own blocks. The gradient, the ziggurat's rare path (~1 % of normals, through the JavaScript generator on the same
;; state), exp and log1p (Math's, so the arithmetic is the JavaScript kernel's) are imports.
(module
  (import "nuts" "memory" (memory 1))
  ;; log p at the point whose q starts at the given offset; writes its gradient (the point's grad vector).
  (import "nuts" "gradient" (func $gradient (param i32) (result f64)))
  ;; Rng.normalBeyondLayer(idx, sign, rabs) on the state in memory.
  (import "nuts" "normalBeyondLayer" (func $normalBeyondLayer (param i32 f64 f64) (result f64)))
  (import "nuts" "exp" (func $exp (param f64) (result f64)))
  (import "nuts" "log1p" (func $log1p (param f64) (result f64)))

  ;; Layout, from the header.
  (global $bytes (mut i32) (i32.const 0))
  (global $maxDepth (mut i32) (i32.const 0))
  (global $zigK (mut i32) (i32.const 0))
  (global $zigW (mut i32) (i32.const 0))
  (global $rngState (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))
  (global $minv (mut i32) (i32.const 0))
  (global $weights (mut i32) (i32.const 0))
  (global $levels (mut i32) (i32.const 0))
  (global $levelBytes (mut i32) (i32.const 0))
  (global $z0 (mut i32) (i32.const 0))
  (global $zFwd (mut i32) (i32.const 0))
  (global $zBck (mut i32) (i32.const 0))
  (global $zSample (mut i32) (i32.const 0))
  (global $zPropose (mut i32) (i32.const 0))
  (global $pFwdFwd (mut i32) (i32.const 0))
  (global $pSharpFwdFwd (mut i32) (i32.const 0))
  (global $pFwdBck (mut i32) (i32.const 0))
  (global $pSharpFwdBck (mut i32) (i32.const 0))
  (global $pBckFwd (mut i32) (i32.const 0))
  (global $pSharpBckFwd (mut i32) (i32.const 0))
  (global $pBckBck (mut i32) (i32.const 0))
  (global $pSharpBckBck (mut i32) (i32.const 0))
  (global $rho (mut i32) (i32.const 0))
  (global $rhoFwd (mut i32) (i32.const 0))
  (global $rhoBck (mut i32) (i32.const 0))
  (global $draws (mut i32) (i32.const 0))
  (global $drawStats (mut i32) (i32.const 0))
  ;; The generator's state during a transition.
  (global $s0 (mut i32) (i32.const 0))
  (global $s1 (mut i32) (i32.const 0))
  (global $s2 (mut i32) (i32.const 0))
  (global $s3 (mut i32) (i32.const 0))
  ;; The transition's state, shared by the recursion (nuts.ts: eps, z, H0, nLeapfrog, sumMetroProb, divergent).
  (global $eps (mut f64) (f64.const 0))
  (global $z (mut i32) (i32.const 0))
  (global $H0 (mut f64) (f64.const 0))
  (global $nLeapfrog (mut i32) (i32.const 0))
  (global $sumMetroProb (mut f64) (f64.const 0))
  (global $divergent (mut i32) (i32.const 0))

  ;; Stan's max_deltaH (nuts.ts MAX_DELTA_H).
  (global $MAX_DELTA_H f64 (f64.const 1000))

  (func (export "setup")
    (global.set $bytes (i32.shl (i32.load offset=0 (i32.const 0)) (i32.const 3)))
    (global.set $maxDepth (i32.load offset=4 (i32.const 0)))
    (global.set $zigK (i32.load offset=8 (i32.const 0)))
    (global.set $zigW (i32.load offset=12 (i32.const 0)))
    (global.set $rngState (i32.load offset=16 (i32.const 0)))
    (global.set $out (i32.load offset=20 (i32.const 0)))
    (global.set $minv (i32.load offset=24 (i32.const 0)))
    (global.set $weights (i32.load offset=28 (i32.const 0)))
    (global.set $levels (i32.load offset=32 (i32.const 0)))
    (global.set $levelBytes (i32.load offset=36 (i32.const 0)))
    (global.set $z0 (i32.load offset=40 (i32.const 0)))
    (global.set $zFwd (i32.load offset=44 (i32.const 0)))
    (global.set $zBck (i32.load offset=48 (i32.const 0)))
    (global.set $zSample (i32.load offset=52 (i32.const 0)))
    (global.set $zPropose (i32.load offset=56 (i32.const 0)))
    (global.set $pFwdFwd (i32.load offset=60 (i32.const 0)))
    (global.set $pSharpFwdFwd (i32.load offset=64 (i32.const 0)))
    (global.set $pFwdBck (i32.load offset=68 (i32.const 0)))
    (global.set $pSharpFwdBck (i32.load offset=72 (i32.const 0)))
    (global.set $pBckFwd (i32.load offset=76 (i32.const 0)))
    (global.set $pSharpBckFwd (i32.load offset=80 (i32.const 0)))
    (global.set $pBckBck (i32.load offset=84 (i32.const 0)))
    (global.set $pSharpBckBck (i32.load offset=88 (i32.const 0)))
    (global.set $rho (i32.load offset=92 (i32.const 0)))
    (global.set $rhoFwd (i32.load offset=96 (i32.const 0)))
    (global.set $rhoBck (i32.load offset=100 (i32.const 0)))
    (global.set $draws (i32.load offset=104 (i32.const 0)))
    (global.set $drawStats (i32.load offset=108 (i32.const 0))))

  (func $rngLoad
    (global.set $s0 (i32.load offset=0 (global.get $rngState)))
    (global.set $s1 (i32.load offset=4 (global.get $rngState)))
    (global.set $s2 (i32.load offset=8 (global.get $rngState)))
    (global.set $s3 (i32.load offset=12 (global.get $rngState))))

  (func $rngStore
    (i32.store offset=0 (global.get $rngState) (global.get $s0))
    (i32.store offset=4 (global.get $rngState) (global.get $s1))
    (i32.store offset=8 (global.get $rngState) (global.get $s2))
    (i32.store offset=12 (global.get $rngState) (global.get $s3)))

  ;; Rng.nextUint32: xoshiro128** (the result as an i32 to read unsigned).
  (func $nextUint32 (result i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $result i32)
    (local.set $s0 (global.get $s0))
    (local.set $s1 (global.get $s1))
    (local.set $result (i32.mul (i32.rotl (i32.mul (local.get $s1) (i32.const 5)) (i32.const 7)) (i32.const 9)))
    (local.set $s2 (i32.xor (global.get $s2) (local.get $s0)))
    (local.set $s3 (i32.xor (global.get $s3) (local.get $s1)))
    (global.set $s0 (i32.xor (local.get $s0) (local.get $s3)))
    (global.set $s1 (i32.xor (local.get $s1) (local.get $s2)))
    (global.set $s2 (i32.xor (local.get $s2) (i32.shl (local.get $s1) (i32.const 9))))
    (global.set $s3 (i32.rotl (local.get $s3) (i32.const 11)))
    (local.get $result))

  ;; Rng.uniform: 27 + 26 random bits on [0, 1).
  (func $uniform (result f64)
    (local $hi i32)
    (local.set $hi (i32.shr_u (call $nextUint32) (i32.const 5)))
    (f64.div
      (f64.add
        (f64.mul (f64.convert_i32_u (local.get $hi)) (f64.const 67108864))
        (f64.convert_i32_u (i32.shr_u (call $nextUint32) (i32.const 6))))
      (f64.const 9007199254740992)))

  ;; Rng.normal: the ziggurat's fast path here, its rare path in JavaScript on the same state.
  (func $normal (result f64)
    (local $lo i32) (local $hi i32) (local $idx i32) (local $sign f64) (local $rabs f64) (local $x f64)
    (local.set $lo (call $nextUint32))
    (local.set $hi (call $nextUint32))
    (local.set $idx (i32.shl (i32.and (local.get $lo) (i32.const 255)) (i32.const 3)))
    (local.set $sign
      (f64.convert_i32_s (i32.sub (i32.const 1) (i32.and (i32.shr_u (local.get $lo) (i32.const 7)) (i32.const 2)))))
    (local.set $rabs
      (f64.add
        (f64.mul (f64.convert_i32_u (local.get $hi)) (f64.const 1048576))
        (f64.convert_i32_u (i32.shr_u (local.get $lo) (i32.const 12)))))
    (if (f64.lt (local.get $rabs) (f64.load (i32.add (global.get $zigK) (local.get $idx))))
      (then
        (return
          (f64.mul (local.get $sign) (f64.mul (local.get $rabs) (f64.load (i32.add (global.get $zigW) (local.get $idx))))))))
    (call $rngStore)
    (local.set $x
      (call $normalBeyondLayer (i32.shr_u (local.get $idx) (i32.const 3)) (local.get $sign) (local.get $rabs)))
    (call $rngLoad)
    (local.get $x))

  ;; nuts.ts logSumExp.
  (func $logSumExp (param $a f64) (param $b f64) (result f64)
    (if (f64.eq (local.get $a) (f64.const -inf)) (then (return (local.get $b))))
    (if (f64.eq (local.get $b) (f64.const -inf)) (then (return (local.get $a))))
    (if (result f64) (f64.gt (local.get $a) (local.get $b))
      (then (f64.add (local.get $a) (call $log1pUnit (call $exp (f64.sub (local.get $b) (local.get $a))))))
      (else (f64.add (local.get $b) (call $log1pUnit (call $exp (f64.sub (local.get $a) (local.get $b))))))))

  ;; Math.log1p, for the arguments logSumExp gives it (e^{−|a−b|}, in [0, 1]) computed here, bit for bit, by the
  ;; method Math.log1p uses (fdlibm's s_log1p.c, Sun Microsystems 1993, freely distributable: 1 + x = 2^k (1 + f),
  ;; log(1 + f) = 2s + s·R(s²) with s = f/(2 + f) and its Remez polynomial); V8 calls only Math.exp and Math.log
  ;; from WebAssembly without a JavaScript call, and a call to Math.log1p cost ~20 ns more. Other arguments (negative,
  ;; NaN) go to Math.log1p itself. test/inference/nuts-wasm.test.ts compares the two on [0, 1].
  (func $log1pUnit (export "log1pUnit") (param $x f64) (result f64)
    (local $hx i32) (local $k i32) (local $hu i32) (local $u f64) (local $c f64) (local $f f64) (local $hfsq f64)
    (local $s f64) (local $z f64) (local $R f64) (local $dk f64)
    (if (i32.eqz (i32.and (f64.ge (local.get $x) (f64.const 0)) (f64.le (local.get $x) (f64.const 1))))
      (then (return (call $log1p (local.get $x)))))
    (local.set $hx (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $x)) (i64.const 32))))
    (if (i32.lt_s (local.get $hx) (i32.const 0x3FDA827A))
      (then
        ;; x < √2 − 1: f = x, k = 0 (below 2^-29: x or x − x²/2).
        (if (i32.lt_s (local.get $hx) (i32.const 0x3e200000))
          (then
            (if (i32.lt_s (local.get $hx) (i32.const 0x3c900000)) (then (return (local.get $x))))
            (return (f64.sub (local.get $x) (f64.mul (f64.mul (local.get $x) (local.get $x)) (f64.const 0.5))))))
        (local.set $f (local.get $x))
        (local.set $hu (i32.const 1)))
      (else
        ;; u = 1 + x = 2^k (1 + f), with the rounding of 1 + x carried as c/u.
        (local.set $k (i32.const 1))
        (local.set $u (f64.add (f64.const 1) (local.get $x)))
        (local.set $hu (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $u)) (i64.const 32))))
        (local.set $k (i32.sub (i32.shr_s (local.get $hu) (i32.const 20)) (i32.const 1023)))
        (local.set $c
          (if (result f64) (i32.gt_s (local.get $k) (i32.const 0))
            (then (f64.sub (f64.const 1) (f64.sub (local.get $u) (local.get $x))))
            (else (f64.sub (local.get $x) (f64.sub (local.get $u) (f64.const 1))))))
        (local.set $c (f64.div (local.get $c) (local.get $u)))
        (local.set $hu (i32.and (local.get $hu) (i32.const 0x000fffff)))
        (if (i32.lt_s (local.get $hu) (i32.const 0x6a09e))
          (then (local.set $u (call $withHighWord (local.get $u) (i32.or (local.get $hu) (i32.const 0x3ff00000)))))
          (else
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $u (call $withHighWord (local.get $u) (i32.or (local.get $hu) (i32.const 0x3fe00000))))
            (local.set $hu (i32.shr_s (i32.sub (i32.const 0x00100000) (local.get $hu)) (i32.const 2)))))
        (local.set $f (f64.sub (local.get $u) (f64.const 1)))))
    (local.set $hfsq (f64.mul (f64.mul (f64.const 0.5) (local.get $f)) (local.get $f)))
    (local.set $dk (f64.convert_i32_s (local.get $k)))
    (if (i32.eqz (local.get $hu))
      (then
        ;; |f| < 2^-20.
        (if (f64.eq (local.get $f) (f64.const 0))
          (then
            (if (i32.eqz (local.get $k)) (then (return (f64.const 0))))
            (local.set $c (f64.add (local.get $c) (f64.mul (local.get $dk) (f64.const 1.90821492927058770002e-10))))
            (return (f64.add (f64.mul (local.get $dk) (f64.const 6.93147180369123816490e-01)) (local.get $c)))))
        (local.set $R
          (f64.mul (local.get $hfsq) (f64.sub (f64.const 1) (f64.mul (f64.const 0.66666666666666666) (local.get $f)))))
        (if (i32.eqz (local.get $k)) (then (return (f64.sub (local.get $f) (local.get $R)))))
        (return
          (f64.sub
            (f64.mul (local.get $dk) (f64.const 6.93147180369123816490e-01))
            (f64.sub
              (f64.sub (local.get $R)
                (f64.add (f64.mul (local.get $dk) (f64.const 1.90821492927058770002e-10)) (local.get $c)))
              (local.get $f))))))
    (local.set $s (f64.div (local.get $f) (f64.add (f64.const 2) (local.get $f))))
    (local.set $z (f64.mul (local.get $s) (local.get $s)))
    (local.set $R
      (f64.mul (local.get $z)
        (f64.add (f64.const 6.666666666666735130e-01)
          (f64.mul (local.get $z)
            (f64.add (f64.const 3.999999999940941908e-01)
              (f64.mul (local.get $z)
                (f64.add (f64.const 2.857142874366239149e-01)
                  (f64.mul (local.get $z)
                    (f64.add (f64.const 2.222219843214978396e-01)
                      (f64.mul (local.get $z)
                        (f64.add (f64.const 1.818357216161805012e-01)
                          (f64.mul (local.get $z)
                            (f64.add (f64.const 1.531383769920937332e-01)
                              (f64.mul (local.get $z) (f64.const 1.479819860511658591e-01)))))))))))))))
    (if (i32.eqz (local.get $k))
      (then
        (return
          (f64.sub (local.get $f)
            (f64.sub (local.get $hfsq) (f64.mul (local.get $s) (f64.add (local.get $hfsq) (local.get $R))))))))
    (f64.sub
      (f64.mul (local.get $dk) (f64.const 6.93147180369123816490e-01))
      (f64.sub
        (f64.sub (local.get $hfsq)
          (f64.add
            (f64.mul (local.get $s) (f64.add (local.get $hfsq) (local.get $R)))
            (f64.add (f64.mul (local.get $dk) (f64.const 1.90821492927058770002e-10)) (local.get $c))))
        (local.get $f))))

  ;; x with its high 32 bits replaced by `high` (fdlibm's SET_HIGH_WORD).
  (func $withHighWord (param $x f64) (param $high i32) (result f64)
    (f64.reinterpret_i64
      (i64.or
        (i64.and (i64.reinterpret_f64 (local.get $x)) (i64.const 0xffffffff))
        (i64.shl (i64.extend_i32_u (local.get $high)) (i64.const 32)))))

  (func $copyPoint (param $from i32) (param $to i32)
    (memory.copy (local.get $to) (local.get $from) (i32.add (i32.mul (global.get $bytes) (i32.const 3)) (i32.const 8))))

  (func $zero (param $v i32)
    (memory.fill (local.get $v) (i32.const 0) (global.get $bytes)))

  ;; integrator.ts leapfrog on the point z, step e (the metric: $minv).
  (func $leapfrog (param $z i32) (param $e f64)
    (local $half f64) (local $o i32) (local $q i32) (local $p i32) (local $g i32) (local $pi f64)
    (local.set $half (f64.mul (f64.const 0.5) (local.get $e)))
    (local.set $q (local.get $z))
    (local.set $p (i32.add (local.get $z) (global.get $bytes)))
    (local.set $g (i32.add (local.get $p) (global.get $bytes)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
        (local.set $pi
          (f64.add (f64.load (i32.add (local.get $p) (local.get $o)))
                   (f64.mul (local.get $half) (f64.load (i32.add (local.get $g) (local.get $o))))))
        (f64.store (i32.add (local.get $p) (local.get $o)) (local.get $pi))
        (f64.store (i32.add (local.get $q) (local.get $o))
          (f64.add (f64.load (i32.add (local.get $q) (local.get $o)))
                   (f64.mul (f64.mul (local.get $e) (f64.load (i32.add (global.get $minv) (local.get $o)))) (local.get $pi))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each)))
    (f64.store (i32.add (local.get $g) (global.get $bytes)) (call $gradient (local.get $z)))
    (local.set $o (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
        (f64.store (i32.add (local.get $p) (local.get $o))
          (f64.add (f64.load (i32.add (local.get $p) (local.get $o)))
                   (f64.mul (local.get $half) (f64.load (i32.add (local.get $g) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each))))

  ;; termination.ts mergedTreePersists: Stan's three U-turn checks of a merge, and ρ_A + ρ_B added into rhoOut.
  (func $mergedTreePersists
    (param $sharpABeg i32) (param $sharpAEnd i32) (param $pAEnd i32) (param $rhoA i32)
    (param $sharpBBeg i32) (param $pBBeg i32) (param $sharpBEnd i32) (param $rhoB i32) (param $rhoOut i32)
    (result i32)
    (local $o i32) (local $ra f64) (local $rb f64) (local $whole f64) (local $seamA f64) (local $seamB f64)
    (local $wholeBeg f64) (local $wholeEnd f64) (local $seamABeg f64) (local $seamAEnd f64) (local $seamBBeg f64)
    (local $seamBEnd f64) (local $sharpABegI f64) (local $sharpBEndI f64)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
        (local.set $ra (f64.load (i32.add (local.get $rhoA) (local.get $o))))
        (local.set $rb (f64.load (i32.add (local.get $rhoB) (local.get $o))))
        (local.set $whole (f64.add (local.get $ra) (local.get $rb)))
        (f64.store (i32.add (local.get $rhoOut) (local.get $o))
          (f64.add (f64.load (i32.add (local.get $rhoOut) (local.get $o))) (local.get $whole)))
        (local.set $sharpABegI (f64.load (i32.add (local.get $sharpABeg) (local.get $o))))
        (local.set $sharpBEndI (f64.load (i32.add (local.get $sharpBEnd) (local.get $o))))
        (local.set $wholeBeg (f64.add (local.get $wholeBeg) (f64.mul (local.get $sharpABegI) (local.get $whole))))
        (local.set $wholeEnd (f64.add (local.get $wholeEnd) (f64.mul (local.get $sharpBEndI) (local.get $whole))))
        (local.set $seamA (f64.add (local.get $ra) (f64.load (i32.add (local.get $pBBeg) (local.get $o)))))
        (local.set $seamABeg (f64.add (local.get $seamABeg) (f64.mul (local.get $sharpABegI) (local.get $seamA))))
        (local.set $seamAEnd
          (f64.add (local.get $seamAEnd) (f64.mul (f64.load (i32.add (local.get $sharpBBeg) (local.get $o))) (local.get $seamA))))
        (local.set $seamB (f64.add (local.get $rb) (f64.load (i32.add (local.get $pAEnd) (local.get $o)))))
        (local.set $seamBBeg
          (f64.add (local.get $seamBBeg) (f64.mul (f64.load (i32.add (local.get $sharpAEnd) (local.get $o))) (local.get $seamB))))
        (local.set $seamBEnd (f64.add (local.get $seamBEnd) (f64.mul (local.get $sharpBEndI) (local.get $seamB))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each)))
    ;; noUTurn(m, p) = p > 0 && m > 0, for the whole and each seam.
    (i32.and
      (i32.and
        (i32.and (f64.gt (local.get $wholeEnd) (f64.const 0)) (f64.gt (local.get $wholeBeg) (f64.const 0)))
        (i32.and (f64.gt (local.get $seamAEnd) (f64.const 0)) (f64.gt (local.get $seamABeg) (f64.const 0))))
      (i32.and (f64.gt (local.get $seamBEnd) (f64.const 0)) (f64.gt (local.get $seamBBeg) (f64.const 0)))))

  ;; nuts.ts buildTree: whether the subtree is valid; writes its proposal, its ends' (sharp) momenta, adds its Σp to
  ;; rhoOut and its log-sum of weights to the weight in `slot`.
  (func $buildTree
    (param $depth i32) (param $proposeOut i32) (param $pSharpBeg i32) (param $pSharpEnd i32) (param $rhoOut i32)
    (param $pBeg i32) (param $pEnd i32) (param $sign f64) (param $slot i32)
    (result i32)
    (local $o i32) (local $p i32) (local $pi f64) (local $sharp f64) (local $twiceKinetic f64) (local $logp f64)
    (local $h f64) (local $level i32) (local $initSlot i32) (local $finalSlot i32) (local $wFinal f64)
    (local $wSubtree f64)
    (if (i32.eqz (local.get $depth))
      (then
        (call $leapfrog (global.get $z) (f64.mul (local.get $sign) (global.get $eps)))
        (global.set $nLeapfrog (i32.add (global.get $nLeapfrog) (i32.const 1)))
        ;; The one-state subtree: its proposal is the state (q, p, grad, logp: one copy); its ends' momenta and
        ;; velocities (p♯ = M⁻¹p), Σp, and its kinetic energy.
        (call $copyPoint (global.get $z) (local.get $proposeOut))
        (local.set $p (i32.add (global.get $z) (global.get $bytes)))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
            (local.set $pi (f64.load (i32.add (local.get $p) (local.get $o))))
            (local.set $sharp (f64.mul (f64.load (i32.add (global.get $minv) (local.get $o))) (local.get $pi)))
            (local.set $twiceKinetic (f64.add (local.get $twiceKinetic) (f64.mul (local.get $sharp) (local.get $pi))))
            (f64.store (i32.add (local.get $pSharpBeg) (local.get $o)) (local.get $sharp))
            (f64.store (i32.add (local.get $pSharpEnd) (local.get $o)) (local.get $sharp))
            (f64.store (i32.add (local.get $pBeg) (local.get $o)) (local.get $pi))
            (f64.store (i32.add (local.get $pEnd) (local.get $o)) (local.get $pi))
            (f64.store (i32.add (local.get $rhoOut) (local.get $o))
              (f64.add (f64.load (i32.add (local.get $rhoOut) (local.get $o))) (local.get $pi)))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (br $each)))
        (local.set $logp (f64.load (i32.add (global.get $z) (i32.mul (global.get $bytes) (i32.const 3)))))
        (local.set $h (f64.add (f64.neg (local.get $logp)) (f64.mul (f64.const 0.5) (local.get $twiceKinetic))))
        (if (f64.ne (local.get $h) (local.get $h)) (then (local.set $h (f64.const inf))))
        (if (f64.gt (f64.sub (local.get $h) (global.get $H0)) (global.get $MAX_DELTA_H))
          (then (global.set $divergent (i32.const 1))))
        (f64.store (i32.add (global.get $weights) (i32.shl (local.get $slot) (i32.const 3)))
          (call $logSumExp
            (f64.load (i32.add (global.get $weights) (i32.shl (local.get $slot) (i32.const 3))))
            (f64.sub (global.get $H0) (local.get $h))))
        (global.set $sumMetroProb
          (f64.add (global.get $sumMetroProb)
            (if (result f64) (f64.gt (f64.sub (global.get $H0) (local.get $h)) (f64.const 0))
              (then (f64.const 1))
              (else (call $exp (f64.sub (global.get $H0) (local.get $h)))))))
        (return (i32.eqz (global.get $divergent)))))
    ;; Level `depth`: pInitEnd, pSharpInitEnd, rhoInit, pFinalBeg, pSharpFinalBeg, rhoFinal, then zProposeFinal.
    (local.set $level (i32.add (global.get $levels) (i32.mul (local.get $depth) (global.get $levelBytes))))
    (local.set $initSlot (i32.shl (local.get $depth) (i32.const 1)))
    (local.set $finalSlot (i32.add (local.get $initSlot) (i32.const 1)))
    ;; The initial subtree.
    (f64.store (i32.add (global.get $weights) (i32.shl (local.get $initSlot) (i32.const 3))) (f64.const -inf))
    (call $zero (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 2))))
    (if (i32.eqz
          (call $buildTree
            (i32.sub (local.get $depth) (i32.const 1))
            (local.get $proposeOut)
            (local.get $pSharpBeg)
            (i32.add (local.get $level) (global.get $bytes))
            (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 2)))
            (local.get $pBeg)
            (local.get $level)
            (local.get $sign)
            (local.get $initSlot)))
      (then (return (i32.const 0))))
    ;; The final subtree.
    (f64.store (i32.add (global.get $weights) (i32.shl (local.get $finalSlot) (i32.const 3))) (f64.const -inf))
    (call $zero (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 5))))
    (if (i32.eqz
          (call $buildTree
            (i32.sub (local.get $depth) (i32.const 1))
            (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 6)))
            (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 4)))
            (local.get $pSharpEnd)
            (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 5)))
            (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 3)))
            (local.get $pEnd)
            (local.get $sign)
            (local.get $finalSlot)))
      (then (return (i32.const 0))))
    ;; Multinomial sample from the right subtree.
    (local.set $wFinal (f64.load (i32.add (global.get $weights) (i32.shl (local.get $finalSlot) (i32.const 3)))))
    (local.set $wSubtree
      (call $logSumExp
        (f64.load (i32.add (global.get $weights) (i32.shl (local.get $initSlot) (i32.const 3))))
        (local.get $wFinal)))
    (f64.store (i32.add (global.get $weights) (i32.shl (local.get $slot) (i32.const 3)))
      (call $logSumExp
        (f64.load (i32.add (global.get $weights) (i32.shl (local.get $slot) (i32.const 3))))
        (local.get $wSubtree)))
    (if (f64.gt (local.get $wFinal) (local.get $wSubtree))
      (then (call $copyPoint (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 6))) (local.get $proposeOut)))
      (else
        (if (f64.lt (call $uniform) (call $exp (f64.sub (local.get $wFinal) (local.get $wSubtree))))
          (then
            (call $copyPoint (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 6))) (local.get $proposeOut))))))
    (call $mergedTreePersists
      (local.get $pSharpBeg)
      (i32.add (local.get $level) (global.get $bytes))
      (local.get $level)
      (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 2)))
      (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 4)))
      (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 3)))
      (local.get $pSharpEnd)
      (i32.add (local.get $level) (i32.mul (global.get $bytes) (i32.const 5)))
      (local.get $rhoOut)))

  ;; nuts.ts transition from the point at $z0 (q, grad, logp set) with the metric at $minv and the generator's state
  ;; in its globals: $z0 becomes the selected state, $nLeapfrog, $sumMetroProb and $divergent the trajectory's; returns
  ;; the tree depth.
  (func $transit (param $epsilon f64) (result i32)
    (local $o i32) (local $p0 i32) (local $pi f64) (local $sharp f64) (local $twiceKinetic f64) (local $valid i32)
    (local $logSumWeight f64) (local $depth i32) (local $top i32) (local $wSubtree f64)
    (global.set $eps (local.get $epsilon))
    (global.set $nLeapfrog (i32.const 0))
    (global.set $sumMetroProb (f64.const 0))
    (global.set $divergent (i32.const 0))
    (local.set $p0 (i32.add (global.get $z0) (global.get $bytes)))
    ;; metric.ts sampleMomentum: p ~ N(0, M).
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
        (f64.store (i32.add (local.get $p0) (local.get $o))
          (f64.div (call $normal) (f64.sqrt (f64.load (i32.add (global.get $minv) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each)))
    ;; The trajectory starts as the one state z0: both ends, the sample, Σp = p; its energy H0.
    (local.set $o (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
        (local.set $pi (f64.load (i32.add (local.get $p0) (local.get $o))))
        (local.set $sharp (f64.mul (f64.load (i32.add (global.get $minv) (local.get $o))) (local.get $pi)))
        (local.set $twiceKinetic (f64.add (local.get $twiceKinetic) (f64.mul (local.get $sharp) (local.get $pi))))
        (f64.store (i32.add (global.get $pSharpFwdFwd) (local.get $o)) (local.get $sharp))
        (f64.store (i32.add (global.get $pSharpFwdBck) (local.get $o)) (local.get $sharp))
        (f64.store (i32.add (global.get $pSharpBckFwd) (local.get $o)) (local.get $sharp))
        (f64.store (i32.add (global.get $pSharpBckBck) (local.get $o)) (local.get $sharp))
        (f64.store (i32.add (global.get $pFwdFwd) (local.get $o)) (local.get $pi))
        (f64.store (i32.add (global.get $pFwdBck) (local.get $o)) (local.get $pi))
        (f64.store (i32.add (global.get $pBckFwd) (local.get $o)) (local.get $pi))
        (f64.store (i32.add (global.get $pBckBck) (local.get $o)) (local.get $pi))
        (f64.store (i32.add (global.get $rho) (local.get $o)) (local.get $pi))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each)))
    (call $copyPoint (global.get $z0) (global.get $zFwd))
    (call $copyPoint (global.get $z0) (global.get $zBck))
    (call $copyPoint (global.get $z0) (global.get $zSample))
    (global.set $H0
      (f64.add
        (f64.neg (f64.load (i32.add (global.get $z0) (i32.mul (global.get $bytes) (i32.const 3)))))
        (f64.mul (f64.const 0.5) (local.get $twiceKinetic))))
    (local.set $top (i32.shl (i32.add (global.get $maxDepth) (i32.const 1)) (i32.const 1)))
    (block $stop
      (loop $grow
        (br_if $stop (i32.ge_s (local.get $depth) (global.get $maxDepth)))
        (f64.store (i32.add (global.get $weights) (i32.shl (local.get $top) (i32.const 3))) (f64.const -inf))
        (local.set $o (i32.const 0))
        (if (f64.gt (call $uniform) (f64.const 0.5))
          (then
            ;; Extend forward from the forward end; the old trajectory becomes the backward subtree.
            (global.set $z (global.get $zFwd))
            (block $done
              (loop $each
                (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
                (f64.store (i32.add (global.get $rhoFwd) (local.get $o)) (f64.const 0))
                (f64.store (i32.add (global.get $rhoBck) (local.get $o)) (f64.load (i32.add (global.get $rho) (local.get $o))))
                (f64.store (i32.add (global.get $pBckFwd) (local.get $o)) (f64.load (i32.add (global.get $pFwdFwd) (local.get $o))))
                (f64.store (i32.add (global.get $pSharpBckFwd) (local.get $o))
                  (f64.load (i32.add (global.get $pSharpFwdFwd) (local.get $o))))
                (local.set $o (i32.add (local.get $o) (i32.const 8)))
                (br $each)))
            (local.set $valid
              (call $buildTree (local.get $depth) (global.get $zPropose) (global.get $pSharpFwdBck) (global.get $pSharpFwdFwd)
                (global.get $rhoFwd) (global.get $pFwdBck) (global.get $pFwdFwd) (f64.const 1) (local.get $top))))
          (else
            ;; Extend backward; the old trajectory becomes the forward subtree.
            (global.set $z (global.get $zBck))
            (block $done
              (loop $each
                (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
                (f64.store (i32.add (global.get $rhoBck) (local.get $o)) (f64.const 0))
                (f64.store (i32.add (global.get $rhoFwd) (local.get $o)) (f64.load (i32.add (global.get $rho) (local.get $o))))
                (f64.store (i32.add (global.get $pFwdBck) (local.get $o)) (f64.load (i32.add (global.get $pBckBck) (local.get $o))))
                (f64.store (i32.add (global.get $pSharpFwdBck) (local.get $o))
                  (f64.load (i32.add (global.get $pSharpBckBck) (local.get $o))))
                (local.set $o (i32.add (local.get $o) (i32.const 8)))
                (br $each)))
            (local.set $valid
              (call $buildTree (local.get $depth) (global.get $zPropose) (global.get $pSharpBckFwd) (global.get $pSharpBckBck)
                (global.get $rhoBck) (global.get $pBckFwd) (global.get $pBckBck) (f64.const -1) (local.get $top)))))
        (br_if $stop (i32.eqz (local.get $valid)))
        (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
        ;; Biased progressive sampling: prefer the new subtree.
        (local.set $wSubtree (f64.load (i32.add (global.get $weights) (i32.shl (local.get $top) (i32.const 3)))))
        (if (f64.gt (local.get $wSubtree) (local.get $logSumWeight))
          (then (call $copyPoint (global.get $zPropose) (global.get $zSample)))
          (else
            (if (f64.lt (call $uniform) (call $exp (f64.sub (local.get $wSubtree) (local.get $logSumWeight))))
              (then (call $copyPoint (global.get $zPropose) (global.get $zSample))))))
        (local.set $logSumWeight (call $logSumExp (local.get $logSumWeight) (local.get $wSubtree)))
        (call $zero (global.get $rho))
        (br_if $stop
          (i32.eqz
            (call $mergedTreePersists (global.get $pSharpBckBck) (global.get $pSharpBckFwd) (global.get $pBckFwd)
              (global.get $rhoBck) (global.get $pSharpFwdBck) (global.get $pFwdBck) (global.get $pSharpFwdFwd)
              (global.get $rhoFwd) (global.get $rho))))
        (br $grow)))
    (call $copyPoint (global.get $zSample) (global.get $z0))
    (local.get $depth))

  ;; metric.ts hamiltonian at $z0: −log p + ½ pᵀM⁻¹p (Stan's energy__).
  (func $energy (result f64)
    (local $o i32) (local $p0 i32) (local $pi f64) (local $t f64)
    (local.set $p0 (i32.add (global.get $z0) (global.get $bytes)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (global.get $bytes)))
        (local.set $pi (f64.load (i32.add (local.get $p0) (local.get $o))))
        (local.set $t
          (f64.add (local.get $t) (f64.mul (f64.mul (f64.load (i32.add (global.get $minv) (local.get $o))) (local.get $pi)) (local.get $pi))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each)))
    (f64.add
      (f64.neg (f64.load (i32.add (global.get $z0) (i32.mul (global.get $bytes) (i32.const 3)))))
      (f64.mul (f64.const 0.5) (local.get $t))))

  ;; nuts.ts acceptStat: the mean Metropolis acceptance over the trajectory.
  (func $acceptStat (result f64)
    (if (result f64) (i32.gt_s (global.get $nLeapfrog) (i32.const 0))
      (then (f64.div (global.get $sumMetroProb) (f64.convert_i32_s (global.get $nLeapfrog))))
      (else (f64.const 0))))

  ;; One transition (nuts.ts NutsKernel.transition); the outputs acceptStat, treeDepth, nLeapfrog, divergent, energy
  ;; (as doubles) at $out.
  (func (export "transition") (param $epsilon f64)
    (local $depth i32)
    (call $rngLoad)
    (local.set $depth (call $transit (local.get $epsilon)))
    (call $rngStore)
    (f64.store offset=0 (global.get $out) (call $acceptStat))
    (f64.store offset=8 (global.get $out) (f64.convert_i32_s (local.get $depth)))
    (f64.store offset=16 (global.get $out) (f64.convert_i32_s (global.get $nLeapfrog)))
    (f64.store offset=24 (global.get $out) (f64.convert_i32_s (global.get $divergent)))
    (f64.store offset=32 (global.get $out) (call $energy)))

  ;; `n` transitions with ε and the metric fixed (nuts.ts NutsKernel.transitions): draw d's position q at
  ;; $draws + d·8·dim, its seven statistics in sampler.ts SAMPLE_STATS order (lp, accept_stat, step_size, tree_depth,
  ;; n_leapfrog, diverging, energy) at $drawStats + d·56 — two blocks, so that the caller copies each out in one piece.
  (func (export "transitions") (param $n i32) (param $epsilon f64)
    (local $d i32) (local $depth i32) (local $row i32) (local $stats i32)
    (call $rngLoad)
    (local.set $row (global.get $draws))
    (local.set $stats (global.get $drawStats))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $d) (local.get $n)))
        (local.set $depth (call $transit (local.get $epsilon)))
        (memory.copy (local.get $row) (global.get $z0) (global.get $bytes))
        (f64.store offset=0 (local.get $stats) (f64.load (i32.add (global.get $z0) (i32.mul (global.get $bytes) (i32.const 3)))))
        (f64.store offset=8 (local.get $stats) (call $acceptStat))
        (f64.store offset=16 (local.get $stats) (local.get $epsilon))
        (f64.store offset=24 (local.get $stats) (f64.convert_i32_s (local.get $depth)))
        (f64.store offset=32 (local.get $stats) (f64.convert_i32_s (global.get $nLeapfrog)))
        (f64.store offset=40 (local.get $stats) (f64.convert_i32_s (global.get $divergent)))
        (f64.store offset=48 (local.get $stats) (call $energy))
        (local.set $row (i32.add (local.get $row) (global.get $bytes)))
        (local.set $stats (i32.add (local.get $stats) (i32.const 56)))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $each)))
    (call $rngStore))
)
