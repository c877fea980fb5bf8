//! The encoder-decoder network, as plain candle tensors.
//!
//! ```text
//! input -> Dense(hidden) -> LayerNorm -> GELU -> Dense(hidden/2) -> LayerNorm -> GELU
//!       -> Dense(dim) -> L2 normalise = embedding
//! embedding * sqrt(dim) -> Dense(hidden/2) -> GELU -> Dense(hidden) -> GELU -> Dense(input)
//! embedding * sqrt(dim) -> Dense(adoption)            (optional product-adoption logits)
//! ```
//!
//! The decoder and the adoption head read the *normalised* embedding: the geometry the loss
//! shapes is then exactly the geometry that segmentation and lookalike search measure, and no
//! information can hide in the vector's length.

use std::collections::HashMap;

use candle_core::{Device, Tensor, D};
use rand::Rng;

/// Keeps layer-norm and L2-normalisation finite for an all-zero vector.
const NORM_EPSILON: f64 = 1e-5;

/// Shapes that fix every tensor of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dimensions {
    pub(crate) input: usize,
    pub(crate) hidden: usize,
    pub(crate) dim: usize,
    pub(crate) adoption: usize,
}

impl Dimensions {
    fn half_hidden(&self) -> usize {
        (self.hidden / 2).max(1)
    }
}

/// How a tensor starts before training.
enum Init {
    /// Uniform in +-1/sqrt(fan_in), PyTorch's default for linear layers: keeps activations
    /// at a similar scale through the layers.
    FanIn(usize),
    Ones,
    Zeros,
}

/// Every tensor, by name, in the fixed order used for initialisation and saving.
fn specs(d: Dimensions) -> Vec<(String, Vec<usize>, Init)> {
    let h2 = d.half_hidden();
    let mut specs = Vec::new();
    let mut dense = |name: &str, out: usize, fan_in: usize| {
        specs.push((
            format!("{name}.weight"),
            vec![out, fan_in],
            Init::FanIn(fan_in),
        ));
        specs.push((format!("{name}.bias"), vec![out], Init::FanIn(fan_in)));
    };
    dense("encoder.0", d.hidden, d.input);
    dense("encoder.1", h2, d.hidden);
    dense("encoder.2", d.dim, h2);
    dense("decoder.0", h2, d.dim);
    dense("decoder.1", d.hidden, h2);
    dense("decoder.2", d.input, d.hidden);
    if d.adoption > 0 {
        dense("adoption", d.adoption, d.dim);
    }
    for (name, size) in [("encoder_norm.0", d.hidden), ("encoder_norm.1", h2)] {
        specs.push((format!("{name}.gain"), vec![size], Init::Ones));
        specs.push((format!("{name}.bias"), vec![size], Init::Zeros));
    }
    specs
}

/// Every tensor name with its expected shape, for checking a loaded file.
pub(crate) fn expected_shapes(d: Dimensions) -> Vec<(String, Vec<usize>)> {
    specs(d)
        .into_iter()
        .map(|(name, shape, _)| (name, shape))
        .collect()
}

/// Freshly initialised tensors, drawn from `rng` in a fixed order (reproducible by seed).
pub(crate) fn initial_tensors<R: Rng>(
    d: Dimensions,
    rng: &mut R,
) -> candle_core::Result<Vec<(String, Tensor)>> {
    specs(d)
        .into_iter()
        .map(|(name, shape, init)| {
            let count: usize = shape.iter().product();
            let values: Vec<f32> = match init {
                Init::FanIn(fan_in) => {
                    let bound = 1.0 / (fan_in as f32).sqrt();
                    (0..count).map(|_| rng.gen_range(-bound..=bound)).collect()
                }
                Init::Ones => vec![1.0; count],
                Init::Zeros => vec![0.0; count],
            };
            Ok((name, Tensor::from_vec(values, shape, &Device::Cpu)?))
        })
        .collect()
}

struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}

struct LayerNorm {
    gain: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    /// Written from differentiable primitives: candle's fused layer norm has no backward.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let centred = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(variance + NORM_EPSILON)?.sqrt()?)?;
        normed.broadcast_mul(&self.gain)?.broadcast_add(&self.bias)
    }
}

/// The network's tensors. Built from trainable variables during training (the tensors share
/// their storage, so optimiser updates show through) and from plain tensors afterwards.
pub(crate) struct Network {
    dims: Dimensions,
    encoder: [Dense; 3],
    encoder_norms: [LayerNorm; 2],
    decoder: [Dense; 3],
    adoption: Option<Dense>,
    /// Name and tensor, in `specs` order, for saving.
    named: Vec<(String, Tensor)>,
}

impl Network {
    /// Assembles the network; `tensors` must hold every name of `expected_shapes(d)`.
    pub(crate) fn from_tensors(d: Dimensions, tensors: Vec<(String, Tensor)>) -> Network {
        let map: HashMap<&str, &Tensor> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let get = |name: &str| -> Tensor {
            (*map
                .get(name)
                .unwrap_or_else(|| panic!("missing tensor {name}")))
            .clone()
        };
        let dense = |name: &str| Dense {
            weight: get(&format!("{name}.weight")),
            bias: get(&format!("{name}.bias")),
        };
        let norm = |name: &str| LayerNorm {
            gain: get(&format!("{name}.gain")),
            bias: get(&format!("{name}.bias")),
        };
        Network {
            dims: d,
            encoder: [dense("encoder.0"), dense("encoder.1"), dense("encoder.2")],
            encoder_norms: [norm("encoder_norm.0"), norm("encoder_norm.1")],
            decoder: [dense("decoder.0"), dense("decoder.1"), dense("decoder.2")],
            adoption: (d.adoption > 0).then(|| dense("adoption")),
            named: tensors
                .iter()
                .map(|(n, t)| (n.clone(), t.clone()))
                .collect(),
        }
    }

    pub(crate) fn named_tensors(&self) -> &[(String, Tensor)] {
        &self.named
    }

    /// Unit-length embeddings, one row per input row.
    pub(crate) fn embed(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (dense, norm) in self.encoder.iter().zip(&self.encoder_norms) {
            h = norm.forward(&dense.forward(&h)?)?.gelu()?;
        }
        let z = self.encoder[2].forward(&h)?;
        let length = (z.sqr()?.sum_keepdim(D::Minus1)? + NORM_EPSILON * NORM_EPSILON)?.sqrt()?;
        z.broadcast_div(&length)
    }

    /// Reconstructed (standardised) input from embeddings.
    pub(crate) fn reconstruct(&self, embedding: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.decoder[0].forward(&self.scaled(embedding)?)?.gelu()?;
        let h = self.decoder[1].forward(&h)?.gelu()?;
        self.decoder[2].forward(&h)
    }

    /// Product-adoption logits, when the model has the head.
    pub(crate) fn adoption_logits(
        &self,
        embedding: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        match &self.adoption {
            Some(head) => Ok(Some(head.forward(&self.scaled(embedding)?)?)),
            None => Ok(None),
        }
    }

    /// Unit vectors have entries of about 1/sqrt(dim); scaling back to about 1 lets the
    /// heads start with the same initialisation as any other layer.
    fn scaled(&self, embedding: &Tensor) -> candle_core::Result<Tensor> {
        embedding * (self.dims.dim as f64).sqrt()
    }
}
