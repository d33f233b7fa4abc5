"""The ENAS controller: a pointer network that colors the edges one by one (paper §2-3, App. B.1).

Parameters ``theta`` (all trained by REINFORCE, see :mod:`training.enas.optim`):

- embedding tables ``V_edge: E -> R^d`` and ``V_partition: {0..M-1} -> R^d`` (§3);
- an *encoder* LSTM run over ``V_partition[0], ..., V_partition[M-1]``; its outputs ``enc_c``
  are the M things the decoder points at, its final state is the decoder's initial state;
- a *decoder* LSTM stepping over the edges ``t = 0..E-1`` with input
  ``x_t = [V_edge[t] ; V_partition[a_{t-1}]]`` (the previous decision fed back, autoregressive;
  the "empty" embedding 0 at ``t = 0``);
- pointer attention (Vinyals et al. 2015): ``u_tc = v^T tanh(W1 enc_c + W2 dec_t)`` and
  ``pi(a_t = c) = softmax_c(u_t / temperature)``.

- per-edge logits ``b: E x M`` added to the pointer scores, ``u_tc + b_tc`` (``per_edge=True``,
  the default). The pointer network alone shares what it learns across edges ("every edge
  color 3" in a dozen updates) but cannot hold 943 independent choices; the table can, and it is
  where a working partition is planted (``init_partition``): ``b_t = kappa onehot(P0(t))`` so that
  each edge keeps its color with probability ``concentration`` and samples are local edits of P0.

Sampling is batched over B partitions with numpy; the gradient of the REINFORCE + entropy loss is
back-propagated through time by hand (decoder, attention, encoder, embeddings, edge logits) and
checked against finite differences in ``tests/test_enas_controller.py``. The network's parameters
take Adam steps, the edge logits plain gradient steps (:class:`training.enas.optim.Sgd`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from chromatic.errors import ChromaticError
from chromatic.training.enas.optim import (
    DEFAULTS,
    Adam,
    EmaCritic,
    Optimizers,
    Sgd,
    anchor_logits,
    check_baseline,
    check_parts,
    check_rewards,
    check_sizes,
    dloss_dlogits,
    entropy,
    recenter,
    reinforce_step,
    softmax,
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _lstm_gates(pre: np.ndarray, hidden: int) -> tuple[np.ndarray, ...]:
    """Gate activations (i, f, o, g) from the pre-activations, gate order i|f|o|g."""
    sig = _sigmoid(pre[..., : 3 * hidden])
    return (
        sig[..., :hidden],
        sig[..., hidden : 2 * hidden],
        sig[..., 2 * hidden :],
        np.tanh(pre[..., 3 * hidden :]),
    )


def _lstm_backward(
    dh: np.ndarray, dc: np.ndarray, gates: tuple[np.ndarray, ...], c_prev: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient w.r.t. the gate pre-activations and ``c_prev`` of ``c = f c_prev + i g; h = o tanh c``."""
    i, f, o, g = gates
    tc = np.tanh(c)
    dc = dc + dh * o * (1.0 - tc * tc)
    dpre = np.concatenate(
        [
            dc * g * i * (1.0 - i),
            dc * c_prev * f * (1.0 - f),
            dh * tc * o * (1.0 - o),
            dc * i * (1.0 - g * g),
        ],
        axis=-1,
    )
    return dpre, dc * f


class EnasController:
    """Pointer-network LSTM controller over partitions ``Phi: E -> {0..M-1}``.

    ``sample(batch, rng)`` proposes partitions, ``update(parts, rewards)`` does one REINFORCE step
    (rewards are *maximised*). State round-trips through ``state_dict``/``load_state_dict``.
    """

    name = "enas"

    def __init__(
        self,
        num_edges: int,
        num_colors: int,
        seed: int = 0,
        hidden: int = 64,
        embedding_dim: int = 64,
        attention_dim: int = 64,
        learning_rate: float = 1e-3,
        entropy_weight: float = DEFAULTS["entropy_weight"],
        baseline: str = DEFAULTS["baseline"],
        per_edge: bool = True,
        edge_learning_rate: float = DEFAULTS["edge_learning_rate"],
        init_partition: np.ndarray | None = None,
        concentration: float = DEFAULTS["concentration"],
        update_steps: int = 1,
        critic_decay: float = 0.99,
        temperature: float = 1.0,
        init_scale: float = 0.1,
        dtype: type = np.float32,
    ) -> None:
        """``learning_rate``: Adam on the network (App. B.1: 0.001); ``edge_learning_rate``: plain
        gradient steps on the per-edge logits; ``entropy_weight`` multiplies the per-decision
        entropy against advantages of unit scale (``baseline="batch"`` or ``"rank"``);
        ``init_partition`` (E,) plants a partition that each edge keeps with probability
        ``concentration``; ``update_steps`` optimizer steps per batch."""
        check_sizes(num_edges, num_colors)
        self.num_edges, self.num_colors = int(num_edges), int(num_colors)
        self.hidden, self.embedding_dim, self.attention_dim = (
            int(hidden),
            int(embedding_dim),
            int(attention_dim),
        )
        self.entropy_weight, self.temperature = float(entropy_weight), float(temperature)
        self.baseline, self.per_edge = check_baseline(baseline), bool(per_edge)
        self.update_steps = int(update_steps)
        self.dtype = np.dtype(dtype)
        E, M, H, d, A = self.num_edges, self.num_colors, self.hidden, self.embedding_dim, self.attention_dim
        shapes = {
            "V_edge": (E, d),
            "V_partition": (M, d),
            "enc_Wx": (d, 4 * H),
            "enc_Wh": (H, 4 * H),
            "enc_b": (4 * H,),
            "dec_Wx": (2 * d, 4 * H),
            "dec_Wh": (H, 4 * H),
            "dec_b": (4 * H,),
            "att_W1": (H, A),
            "att_W2": (H, A),
            "att_v": (A,),
        }
        rng = np.random.default_rng(seed)
        # ENAS initialises everything uniformly in [-0.1, 0.1]; biases start at 0.
        self.params: dict[str, np.ndarray] = {
            k: (np.zeros(s) if k.endswith("_b") else rng.uniform(-init_scale, init_scale, s)).astype(
                self.dtype
            )
            for k, s in shapes.items()
        }
        network = Adam(self.params, lr=learning_rate)
        self.concentration = concentration if init_partition is not None else None
        if self.per_edge:
            logits = np.zeros((E, M))
            if init_partition is not None:
                logits = anchor_logits(init_partition, E, M, concentration)
            self.params["edge_logits"] = logits.astype(self.dtype)
            edge = Sgd({"edge_logits": logits}, lr=edge_learning_rate)
            self.optimizer = Optimizers(adam=network, sgd=edge)
        elif init_partition is not None:
            raise ChromaticError("controller: init_partition needs the per-edge logits (per_edge=True)")
        else:
            self.optimizer = Optimizers(adam=network)
        self.critic = EmaCritic(critic_decay)

    # -- forward ---------------------------------------------------------------------------
    def _encode(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the encoder over the partition embeddings (the same for every sample)."""
        H, M = self.hidden, self.num_colors
        h = np.zeros(H, self.dtype)
        c = np.zeros(H, self.dtype)
        hs, cs, pres = [h], [c], []
        xg = p["V_partition"] @ p["enc_Wx"] + p["enc_b"]
        for k in range(M):
            pre = xg[k] + h @ p["enc_Wh"]
            i, f, o, g = _lstm_gates(pre, H)
            c = f * c + i * g
            h = o * np.tanh(c)
            hs.append(h)
            cs.append(c)
            pres.append(pre)
        enc = np.stack(hs[1:])
        return {
            "h": np.stack(hs),
            "c": np.stack(cs),
            "pre": np.stack(pres),
            "enc": enc,
            "encW": enc @ p["att_W1"],
        }

    def _lstm_step(self, p: Mapping[str, np.ndarray], pre_x: np.ndarray, h: np.ndarray,
                   c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i, f, o, g = _lstm_gates(pre_x + h @ p["dec_Wh"], self.hidden)
        c = f * c + i * g
        return o * np.tanh(c), c

    def _decoder_inputs(self, p: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        d = self.embedding_dim
        edge_g = p["V_edge"] @ p["dec_Wx"][:d] + p["dec_b"]  # (E, 4H): the edge half of x_t @ Wx
        part_g = p["V_partition"] @ p["dec_Wx"][d:]  # (M, 4H): the previous-decision half
        return edge_g, part_g

    def _sample_decode(self, p: Mapping[str, np.ndarray], enc: Mapping[str, np.ndarray], batch: int,
                       uniforms: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Step the decoder over all edges choosing colors (greedy if ``uniforms`` is None):
        the actions (E, B) and the pointer scores u (E, B, M)."""
        E, M, H = self.num_edges, self.num_colors, self.hidden
        edge_g, part_g = self._decoder_inputs(p)
        W2, v, encW, edge = p["att_W2"], p["att_v"], enc["encW"], p.get("edge_logits")
        h = np.broadcast_to(enc["h"][-1], (batch, H)).copy()
        c = np.broadcast_to(enc["c"][-1], (batch, H)).copy()
        acts = np.empty((E, batch), np.int64)
        us = np.empty((E, batch, M), self.dtype)
        att = np.empty((batch, M, self.attention_dim), self.dtype)
        for t in range(E):
            h, c = self._lstm_step(p, edge_g[t] + part_g[acts[t - 1]] if t else edge_g[t], h, c)
            np.add(encW[None], (h @ W2)[:, None, :], out=att)
            u = np.tanh(att, out=att) @ v  # (B, M) pointer scores
            if edge is not None:
                u += edge[t]
            us[t] = u
            if uniforms is None:
                acts[t] = u.argmax(axis=1)
            else:  # inverse CDF of softmax(u / T), unnormalised
                cdf = np.exp((u - u.max(axis=1, keepdims=True)) / self.temperature).cumsum(axis=1)
                acts[t] = np.minimum((cdf < uniforms[t][:, None] * cdf[:, -1:]).sum(axis=1), M - 1)
        return acts, us

    def _teacher_decode(self, p: Mapping[str, np.ndarray], enc: Mapping[str, np.ndarray],
                        acts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The decoder's states (E + 1, B, H) h and c under the given actions (E, B). The LSTM
        does not depend on the pointer, so the attention runs afterwards in chunks of edges."""
        E, H = self.num_edges, self.hidden
        B = acts.shape[1]
        edge_g, part_g = self._decoder_inputs(p)
        hs = np.empty((E + 1, B, H), self.dtype)
        cs = np.empty((E + 1, B, H), self.dtype)
        hs[0] = np.broadcast_to(enc["h"][-1], (B, H))
        cs[0] = np.broadcast_to(enc["c"][-1], (B, H))
        for t in range(E):
            hs[t + 1], cs[t + 1] = self._lstm_step(
                p, edge_g[t] + part_g[acts[t - 1]] if t else edge_g[t], hs[t], cs[t])
        return hs, cs

    def _pointer(self, p: Mapping[str, np.ndarray], enc: Mapping[str, np.ndarray], h: np.ndarray,
                 ts: slice) -> tuple[np.ndarray, np.ndarray]:
        """Pointer scores u (T, B, M) of the decoder states ``h`` (T, B, H) of edges ``ts``, and
        the attention's tanh (T, B, M, A)."""
        th = np.tanh(enc["encW"][None, None] + (h @ p["att_W2"])[:, :, None, :])
        u = th @ p["att_v"]
        if "edge_logits" in p:
            u += p["edge_logits"][ts][:, None, :]
        return u, th

    def _stats(self, us: np.ndarray, acts: np.ndarray) -> tuple[np.ndarray, ...]:
        """Probabilities, log-probabilities (E, B, M), and per-sample sums of the chosen
        log-probabilities and of the entropies (B,)."""
        pr, lp = softmax(us, self.temperature)
        chosen = np.take_along_axis(lp, acts[..., None], axis=-1)[..., 0]
        return pr, lp, chosen.sum(axis=0, dtype=np.float64), entropy(pr, lp).sum(axis=0, dtype=np.float64)

    def sample(
        self, batch: int, rng: np.random.Generator, greedy: bool = False
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``batch`` partitions as int64 (B, E), and their log-probabilities and summed entropies."""
        p = self.params
        uniforms = None if greedy else rng.random((self.num_edges, int(batch)))
        acts, us = self._sample_decode(p, self._encode(p), int(batch), uniforms)
        _, _, logp, ent = self._stats(us, acts)
        return np.ascontiguousarray(acts.T), {"log_prob": logp, "entropy": ent}

    # -- loss and its gradient -------------------------------------------------------------------
    #: edges per chunk of the vectorised attention (forward and backward): 32 x B x M x A floats
    CHUNK = 32

    def loss_and_grads(
        self, parts: np.ndarray, advantages: np.ndarray, params: Mapping[str, np.ndarray] | None = None
    ) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Surrogate loss ``-1/B sum_b [adv_b log pi(parts_b) + beta H(b)]``, its gradient, and stats."""
        p = self.params if params is None else params
        parts = check_parts(parts, self.num_edges, self.num_colors)
        adv = np.asarray(advantages, np.float64)
        B = parts.shape[0]
        E, M, H, d, A = self.num_edges, self.num_colors, self.hidden, self.embedding_dim, self.attention_dim
        beta, T = self.entropy_weight, self.temperature
        acts = parts.T  # (E, B)
        enc = self._encode(p)
        hs, cs = self._teacher_decode(p, enc, acts)
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        W2, v, encW = p["att_W2"], p["att_v"], enc["encW"]
        dW2, dv = grads["att_W2"], grads["att_v"]
        enc_dl = np.zeros(M, self.dtype)  # sum_{t,b} dl_tbm
        enc_dl_th2 = np.zeros_like(encW)  # sum_{t,b} dl_tbm th_tbma^2
        dh_att = np.empty((E, B, H), self.dtype)  # d loss / d h_{t+1} through the pointer
        logp, ent = np.zeros(B), np.zeros(B)
        for t0 in range(0, E, self.CHUNK):
            ts = slice(t0, min(E, t0 + self.CHUNK))
            h = hs[ts.start + 1 : ts.stop + 1]
            u, th = self._pointer(p, enc, h, ts)
            pr, lp, lsum, esum = self._stats(u, acts[ts])
            logp += lsum
            ent += esum
            dl = dloss_dlogits(pr, lp, acts[ts], adv[None, :] / B, beta / B, T).astype(self.dtype)
            if self.per_edge:
                grads["edge_logits"][ts] = dl.sum(axis=1)
            n = dl.shape[0] * B
            dv += dl.reshape(-1) @ th.reshape(-1, A)
            th *= th
            # d u_tbm / d pre_tbma = v_a (1 - th^2): contract dl against th^2 over m (-> dq) and over
            # (t, b) (-> encW, finished after the loop) as batched matmuls
            dl2, th2 = dl.reshape(n, M), th.reshape(n, M, A)
            dq = v * (dl2.sum(axis=1)[:, None] - np.matmul(dl2[:, None, :], th2)[:, 0, :])  # (n, A)
            enc_dl += dl2.sum(axis=0)
            enc_dl_th2 += np.matmul(dl2.T[:, None, :], th2.transpose(1, 0, 2))[:, 0, :]
            dW2 += h.reshape(n, H).T @ dq
            dh_att[ts] = (dq @ W2.T).reshape(-1, B, H)
        loss = float(-(adv * logp + beta * ent).mean())

        Wh = p["dec_Wh"]
        edge_g, part_g = self._decoder_inputs(p)
        d_edge_g = np.zeros((E, 4 * H), self.dtype)
        d_part_g = np.zeros((M, 4 * H), self.dtype)
        dWh = grads["dec_Wh"]
        dh_next = np.zeros((B, H), self.dtype)
        dc_next = np.zeros((B, H), self.dtype)
        eye = np.eye(M, dtype=self.dtype)
        for t in range(E - 1, -1, -1):
            dh = dh_next + dh_att[t]
            # LSTM step t (recompute the gates from h_{t-1})
            pre = edge_g[t] + hs[t] @ Wh
            if t > 0:
                pre = pre + part_g[acts[t - 1]]
            gates = _lstm_gates(pre, H)
            dpre, dc_next = _lstm_backward(dh, dc_next, gates, cs[t], cs[t + 1])
            dWh += hs[t].T @ dpre
            d_edge_g[t] = dpre.sum(axis=0)
            if t > 0:
                d_part_g += eye[acts[t - 1]].T @ dpre
            dh_next = dpre @ Wh.T
        grads["dec_b"] += d_edge_g.sum(axis=0)
        grads["dec_Wx"][:d] += p["V_edge"].T @ d_edge_g
        grads["V_edge"] += d_edge_g @ p["dec_Wx"][:d].T
        grads["dec_Wx"][d:] += p["V_partition"].T @ d_part_g
        grads["V_partition"] += d_part_g @ p["dec_Wx"][d:].T
        d_encW = v * (enc_dl[:, None] - enc_dl_th2)
        grads["att_W1"] += enc["enc"].T @ d_encW
        d_enc = d_encW @ p["att_W1"].T  # (M, H)
        # encoder: its final state seeded every decoder row
        dh = dh_next.sum(axis=0)
        dc = dc_next.sum(axis=0)
        d_enc_pre = np.zeros((M, 4 * H), self.dtype)
        for k in range(M - 1, -1, -1):
            dh = dh + d_enc[k]
            gates = _lstm_gates(enc["pre"][k], H)
            dpre, dc = _lstm_backward(dh, dc, gates, enc["c"][k], enc["c"][k + 1])
            d_enc_pre[k] = dpre
            grads["enc_Wh"] += np.outer(enc["h"][k], dpre)
            dh = dpre @ p["enc_Wh"].T
        grads["enc_b"] += d_enc_pre.sum(axis=0)
        grads["enc_Wx"] += p["V_partition"].T @ d_enc_pre
        grads["V_partition"] += d_enc_pre @ p["enc_Wx"].T
        return loss, grads, {"log_prob": logp, "entropy": ent}

    def update(self, parts: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        """One REINFORCE step on sampled ``parts`` (B, E) with their ``rewards`` (B,), maximised."""
        parts = check_parts(parts, self.num_edges, self.num_colors)
        return reinforce_step(self, parts, check_rewards(rewards, parts.shape[0]))

    def recenter(self, old: np.ndarray, new: np.ndarray) -> None:
        """Samples become local edits of ``new`` instead of ``old`` (:func:`optim.recenter`)."""
        if self.per_edge:
            recenter(self.params["edge_logits"], old, new, self.concentration)

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed for an exact resume, as a flat dict of numpy arrays (npz-friendly)."""
        out = {"params/" + k: v.copy() for k, v in self.params.items()}
        out.update(self.optimizer.state_dict())
        out.update(self.critic.state_dict())
        out["config/shape"] = self._shape()
        return out

    def _shape(self) -> np.ndarray:
        return np.array(
            [self.num_edges, self.num_colors, self.hidden, self.embedding_dim, self.attention_dim,
             int(self.per_edge)]
        )

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        shape = np.asarray(state.get("config/shape", ()))
        mine = self._shape()
        if shape.shape != mine.shape or np.any(shape != mine):
            raise ChromaticError(
                f"controller checkpoint: expected (edges, colors, hidden, embedding, attention, "
                f"per_edge) = "
                f"{tuple(mine.tolist())}, found {tuple(shape.tolist())}"
            )
        for k in self.params:
            self.params[k] = np.array(state["params/" + k], dtype=self.dtype)
        self.optimizer.load_state_dict(state)
        self.critic.load_state_dict(state)
