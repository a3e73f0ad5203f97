;; The two loops of the gradient-based diagonal adaptation, as WebAssembly: grad-adaptation.ts's drawGradAdd (Welford's
;; running means and squared deviations of a draw and of its gradient) and invMetricFromEstimate (sqrt(Var[x] / Var[g])
;; per coordinate, clamped), with the same floating-point operations in the same order, so the results are bit for bit
;; theirs (test/inference/grad-estimate-wasm.test.ts holds them equal). As JavaScript each is a loop that every fresh
;; chain worker's TurboFan compiled (2–3 ms of a ~60 ms eight_schools chain; bench/README.md). Assembled into
;; grad-estimate-wasm-binary.ts by scripts/assemble-wat.ts; used by grad-estimate-wasm.ts.
;;
;; Every address is a byte offset into the imported memory; vectors are `dim` doubles.
(module
  (import "env" "memory" (memory 1))

  ;; One estimate takes in the draw at $q and its gradient at $g with weight w = 1/n (n counting this draw):
  ;; mean += (x − mean)·w, then m2 += (x − old mean)·(x − new mean), for the draw's (at $dm, $dm2) and the gradient's
  ;; (at $gm, $gm2).
  (func (export "add") (param $dim i32) (param $w f64) (param $q i32) (param $g i32)
    (param $dm i32) (param $dm2 i32) (param $gm i32) (param $gm2 i32)
    (local $o i32) (local $end i32) (local $x f64) (local $d f64) (local $mean f64)
    (local.set $end (i32.shl (local.get $dim) (i32.const 3)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $x (f64.load (i32.add (local.get $q) (local.get $o))))
        (local.set $d (f64.sub (local.get $x) (f64.load (i32.add (local.get $dm) (local.get $o)))))
        (local.set $mean (f64.add (f64.load (i32.add (local.get $dm) (local.get $o))) (f64.mul (local.get $d) (local.get $w))))
        (f64.store (i32.add (local.get $dm) (local.get $o)) (local.get $mean))
        (f64.store (i32.add (local.get $dm2) (local.get $o))
          (f64.add (f64.load (i32.add (local.get $dm2) (local.get $o))) (f64.mul (local.get $d) (f64.sub (local.get $x) (local.get $mean)))))
        (local.set $x (f64.load (i32.add (local.get $g) (local.get $o))))
        (local.set $d (f64.sub (local.get $x) (f64.load (i32.add (local.get $gm) (local.get $o)))))
        (local.set $mean (f64.add (f64.load (i32.add (local.get $gm) (local.get $o))) (f64.mul (local.get $d) (local.get $w))))
        (f64.store (i32.add (local.get $gm) (local.get $o)) (local.get $mean))
        (f64.store (i32.add (local.get $gm2) (local.get $o))
          (f64.add (f64.load (i32.add (local.get $gm2) (local.get $o))) (f64.mul (local.get $d) (f64.sub (local.get $x) (local.get $mean)))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each))))

  ;; The inverse metric at $out from an estimate's squared deviations: sqrt(m2 of draws / m2 of gradients) where that
  ;; is a positive finite number, clamped to [$min, $max]; other coordinates keep the value at $out.
  (func (export "invMetric") (param $dim i32) (param $dm2 i32) (param $gm2 i32) (param $out i32) (param $min f64) (param $max f64)
    (local $o i32) (local $end i32) (local $v f64)
    (local.set $end (i32.shl (local.get $dim) (i32.const 3)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $v
          (f64.sqrt (f64.div (f64.load (i32.add (local.get $dm2) (local.get $o))) (f64.load (i32.add (local.get $gm2) (local.get $o))))))
        (if (i32.and (f64.gt (local.get $v) (f64.const 0)) (f64.lt (local.get $v) (f64.const inf)))
          (then
            (f64.store (i32.add (local.get $out) (local.get $o))
              (select (local.get $min)
                (select (local.get $max) (local.get $v) (f64.gt (local.get $v) (local.get $max)))
                (f64.lt (local.get $v) (local.get $min))))))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $each)))))
