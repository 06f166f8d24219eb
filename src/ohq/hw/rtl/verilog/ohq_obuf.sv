// The layer engine's output buffer and word packer: 32 banks of simple-dual-port RAM (element e
// of channel ch in bank e mod 32, row {ch, e / 32}). Post-process writes PP aligned outputs per
// cycle (PP banks); a write job reads one 64-bit word of 64/ob outputs per cycle at any element
// offset (each bank once), read with the next cycle's word n_issued, packed by ohq_pack.
module ohq_obuf #(
    parameter int PP = 8,
    parameter int PMAX = 1024,
    localparam int OR = (PMAX + 31) / 32, ORW = OR > 1 ? $clog2(OR) : 1,
    localparam int LGP = $clog2(PP), EW = $clog2(PMAX) + 3   // signed element index of a slot
) (
    input  logic clk, we,
    input  logic [31:0] pp_e, pp_ch, npix,
    input  logic [PP*32-1:0] post,
    input  logic [31:0] n_issued, d_issued, d_ch, d_n,
    input  logic [5:0] d_off_e,
    input  logic [2:0] lgo,
    output logic [63:0] m_wdata, m_wmask
);
  logic signed [EW-1:0] ne0, e0;
  logic [32*32-1:0] oq;   // bank b's read word: oq[b*32 +: 32]
  assign ne0 = $signed(EW'(n_issued << (6 - lgo))) - $signed(EW'(d_off_e));
  assign e0 = $signed(EW'(d_issued << (6 - lgo))) - $signed(EW'(d_off_e));
  genvar b;
  generate
    for (b = 0; b < 32; b++) begin : g_obank
      logic [4:0] s;
      logic signed [EW-1:0] el;
      assign s = 5'(b) - ne0[4:0];
      assign el = ne0 + $signed(EW'(s));
      ohq_ram #(.W(32), .D(2 << ORW)) ram (
          .clk, .we(we && (b >> LGP) == (pp_e[4:0] >> LGP) && pp_e + (b % PP) < npix),
          .wa({pp_ch[0], pp_e[5 +: ORW]}), .ra({d_ch[0], el[5 +: ORW]}),
          .wd(post[(b % PP)*32 +: 32]), .q(oq[b*32 +: 32]));
    end
  endgenerate

  ohq_pack #(.W(32), .LGMAX(5), .EW(EW)) pack (
      .q(oq), .e0, .n(d_n), .lg(lgo), .wdata(m_wdata), .wmask(m_wmask));
endmodule
