// The output word packer the layer engine (ohq_obuf) and the post-processing unit (ohq_vec)
// share: 32 banks hold elements (element e in bank e mod 32); one 64-bit word carries the
// 64 / 2^lg elements e0, e0 + 1, .. (element e0 + s in bits s*2^lg ..), and a slot whose element
// lies outside [0, n) is masked off. One rotation of the banks by e0 mod 32, then constant wiring
// per element width 2^lg (lg = 1 .. LGMAX): no per-bit index muxes.
module ohq_pack #(
    parameter int W = 32,      // bits of a bank word (at least 2^LGMAX)
    parameter int LGMAX = 5,   // the widest element: 2^LGMAX bits
    parameter int EW = 16      // bits of the signed element index
) (
    input  logic [32*W-1:0] q,           // bank b's word: q[b*W +: W]
    input  logic signed [EW-1:0] e0,     // the word's first element
    input  logic [31:0] n,               // elements in the plane
    input  logic [2:0] lg,               // log2 of the element bits
    output logic [63:0] wdata, wmask
);
  logic [5:0][32*W-1:0] rs;  // after stage k: slot s holds bank (e0 mod 2^k + s) mod 32
  logic [32*W-1:0] r;
  logic [31:0] valid;        // slot s: 0 <= e0 + s < n
  assign rs[0] = q;
  genvar k;
  generate
    for (k = 0; k < 5; k++) begin : g_rot
      assign rs[k+1] = e0[k] ? {rs[k][0 +: W << k], rs[k][32*W-1 : W << k]} : rs[k];
    end
  endgenerate
  assign r = rs[5];
  always_comb
    for (int s = 0; s < 32; s++) begin
      logic signed [EW-1:0] e;
      e = e0 + EW'(s);
      valid[s] = e >= 0 && e < $signed(EW'(n));
    end
  always_comb begin
    wdata = '0;
    wmask = '0;
    for (int g = 1; g <= LGMAX; g++)
      if (lg == 3'(g))
        for (int j = 0; j < 64; j++)
          if (valid[j >> g]) begin
            wdata[j] = r[(j >> g) * W + (j & ((1 << g) - 1))];
            wmask[j] = 1'b1;
          end
  end
endmodule
