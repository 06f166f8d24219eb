// One lane of the layer engine: its Img2Col address-table slice, its copy of the feature buffer
// and its PE. Lane LI owns GEMM indices k = kc*L + LI, so its table has one entry per tree pass
// (distributed RAM, read asynchronously at the next pass kc). The feature buffer is copied per
// lane (L gathers per cycle at unrelated addresses need L read ports) and banked by address mod
// NB = 64/AB, so one DMA beat (NB consecutive codes at any offset) writes each bank once: NB
// simple-dual-port block RAMs per lane, read synchronously with the address of the next cycle's
// state (n_*), so the products of a cycle use the data of that cycle's state, as before.
module ohq_lane #(
    parameter int LI = 0, L = 16, MODE = 0, WB = 8, AB = 8, M1 = 2, M2 = 1,
    parameter int FMAX = 4096, KR = 64,
    localparam int NB = 64 / AB, LGB = $clog2(NB),
    localparam int FR = (FMAX + NB - 1) / NB, FRW = FR > 1 ? $clog2(FR) : 1,
    localparam int KRW = KR > 1 ? $clog2(KR) : 1
) (
    input  logic clk,
    // table write (S_GEN): entry for lane t_lane, pass t_row
    input  logic t_we,
    input  logic [31:0] t_lane, t_row, t_off,
    input  logic [3:0] t_ky, t_kx,
    // feature write (DMA): per bank enable, row and code, shared by every lane
    input  logic [NB-1:0] f_we,
    input  logic [NB*FRW-1:0] f_row,
    input  logic [NB*AB-1:0] f_wd,
    // the next cycle's gather state
    input  logic [31:0] n_kc, n_kbase, n_rowbase, kdim, in_h, in_w, zin,
    input  logic signed [31:0] n_iy0, n_ix0,
    input  logic [WB-1:0] w0, w1,     // this cycle's weights (registered reads), unmasked
    input  logic nch2,
    output logic signed [31:0] p0, p1
);
  logic [31:0] toff [KR];
  logic [3:0] tky [KR], tkx [KR];
  always_ff @(posedge clk)
    if (t_we && t_lane == LI) begin
      toff[t_row[KRW-1:0]] <= t_off;
      tky[t_row[KRW-1:0]] <= t_ky;
      tkx[t_row[KRW-1:0]] <= t_kx;
    end

  logic [31:0] k, addr;
  logic signed [31:0] iy, ix;
  logic vk, inb, vk_r, inb_r;
  logic [LGB-1:0] bank_r;
  logic [AB-1:0] q [NB];
  assign k = n_kbase + LI;
  assign vk = k < kdim;
  assign iy = n_iy0 + $signed({28'd0, tky[n_kc[KRW-1:0]]});
  assign ix = n_ix0 + $signed({28'd0, tkx[n_kc[KRW-1:0]]});
  assign inb = vk && iy >= 0 && iy < $signed(in_h) && ix >= 0 && ix < $signed(in_w);
  assign addr = toff[n_kc[KRW-1:0]] + n_rowbase + 32'(ix);
  always_ff @(posedge clk) begin
    vk_r <= vk;
    inb_r <= inb;
    bank_r <= addr[LGB-1:0];
  end

  genvar b;
  generate
    for (b = 0; b < NB; b++) begin : g_bank
      ohq_ram #(.W(AB), .D(FR), .BLOCK(1)) ram (
          .clk, .we(f_we[b]), .wa(f_row[b*FRW +: FRW]), .ra(addr[LGB +: FRW]),
          .wd(f_wd[b*AB +: AB]), .q(q[b]));
    end
  endgenerate

  logic signed [AB:0] xv;
  assign xv = inb_r ? ($signed({1'b0, q[bank_r]}) - $signed(zin[AB:0])) : '0;
  ohq_pe #(.MODE(MODE), .WB(WB), .AB(AB), .M1(M1), .M2(M2)) pe (
      .w0(vk_r ? w0 : '0), .w1((vk_r && nch2) ? w1 : '0), .x(xv), .p0, .p1);
endmodule
