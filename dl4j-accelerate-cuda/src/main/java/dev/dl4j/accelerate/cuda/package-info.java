/**
 * GPU support for dl4j-accelerate: discovering the host's CUDA devices, giving each local rank its own through
 * {@code CUDA_VISIBLE_DEVICES}, and checking at worker start-up that the CUDA backend sees exactly that device.
 * Core knows nothing of CUDA; this module plugs into it through a ServiceLoader SPI. The CUDA backend itself is
 * brought in only by the {@code gpu} Maven profile, so CPU builds and CI never download it.
 */
package dev.dl4j.accelerate.cuda;
