// The port lists ohq_core, ohq_vec, ohq_engine and ohq_tb share, declared once: the layer
// registers the PS writes over AXI-lite (in ohq.hw.rtl.job.CFG order), the four counters and the
// memory port (the DMA master). The last lines of each list are products of other registers
// (e.g. cstep = frows * in_w) that the driver precomputes, as the paper's IP leaves them to the
// PS: the engine steps its addresses by adding them and multiplies only data.
`ifndef OHQ_PORTS_SVH
`define OHQ_PORTS_SVH
`define OHQ_CORE_REGS \
    input  logic [31:0] cin_g, in_h, in_w, cout_g, groups, kh, kw, stride, pad, \
    input  logic [31:0] out_h, out_w, band_oh, frows, kdim, zin, lo, hi, shift_k, acc_mode, out_bits, \
    input  logic [47:0] in_bit, out_bit, \
    input  logic [31:0] w_word, \
    input  logic [31:0] cstep, rstep, in_hw, gin, rband, rband_w, pad_w, out_hw, band_pix, \
    input  logic [31:0] last_hi, last_hiw
`define OHQ_VEC_REGS \
    input  logic [31:0] v_c, v_ih, v_iw, v_oh, v_ow, v_kh, v_kw, v_stride, v_pad, v_dil, \
    input  logic [31:0] v_pool, v_two, v_lut, v_abits, v_bbits, v_obits, v_shift, v_lo, v_hi, \
    input  logic [63:0] v_m0, v_m1, v_c0, \
    input  logic [31:0] v_aw, v_bw, v_tw, v_ow0, v_apw, v_bpw, v_opw, \
    input  logic [31:0] v_siw, v_diw, v_piw, v_ihw, v_ohw
`define OHQ_COUNTERS output logic [63:0] cnt_compute, cnt_transfer, cnt_writeback, cnt_post
`define OHQ_MEM_PORT \
    output logic m_req, m_we, \
    output logic [31:0] m_addr, \
    output logic [63:0] m_wdata, m_wmask, \
    input  logic m_gnt, m_rvalid, \
    input  logic [63:0] m_rdata
// Bits of one ohq_pe product (MODE 0 fixed-point: WB x (AB+1) signed; 1 power-of-two: x shifted
// by up to 2^(WB-1)-2 and negated; 2 SP2: two shifts by up to 2^M1-2, added and negated). The
// tree of L products adds at OHQ_TREE_BITS (at most 32) and sign-extends the sum, so no adder
// carries bits that only copy the sign.
`define OHQ_PROD_BITS(MODE, WB, AB, M1) \
    ((MODE) == 0 ? (WB) + (AB) + 1 : (MODE) == 1 ? (AB) + (1 << ((WB) - 1)) : (AB) + (1 << (M1)) + 1)
`define OHQ_TREE_BITS(MODE, WB, AB, M1, L) \
    (`OHQ_PROD_BITS(MODE, WB, AB, M1) + $clog2(L) < 32 ? `OHQ_PROD_BITS(MODE, WB, AB, M1) + $clog2(L) : 32)
`endif
