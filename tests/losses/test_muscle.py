"""MUSCLE loss: masks and KL terms worked out by hand."""

import math

import pytest
import torch

from lit_align.losses.muscle import kl_to_student, mixed_objective, muscle_loss, shift_for_next_token


def softmax(z, t=1.0):
    e = [math.exp(v / t) for v in z]
    return [v / sum(e) for v in e]


def kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True))


STUDENT = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # argmax 0, 1
OLD = torch.tensor([[0.0, 2.0], [5.0, 0.0]])
NEW = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
LABELS = torch.tensor([1, 1])  # position 0: student wrong -> old; position 1: right -> new


@pytest.mark.parametrize("t", [1.0, 2.0])
def test_wrong_positions_distil_from_old_right_ones_from_new(t):
    expected = (kl(softmax([0, 2], t), softmax([1, 0], t)) + kl(softmax([0, 1], t), softmax([0, 3], t))) / 2
    out = muscle_loss(STUDENT, OLD, NEW, LABELS, temperature=t)
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)
    assert out.wrong.item() == 0.5 and out.token_accuracy.item() == 0.5
    assert out.kl_old.item() == pytest.approx((kl(softmax([0, 2], t), softmax([1, 0], t))
                                               + kl(softmax([5, 0], t), softmax([0, 3], t))) / 2, rel=1e-5)


def test_t2_scaling_is_an_option():
    plain = muscle_loss(STUDENT, OLD, NEW, LABELS, temperature=2.0).loss
    scaled = muscle_loss(STUDENT, OLD, NEW, LABELS, temperature=2.0, scale_by_t2=True).loss
    assert scaled.item() == pytest.approx(4 * plain.item())


def test_all_right_student_equals_distillation_from_new_only():
    right = torch.tensor([0, 1])  # student argmax matches every label
    out = muscle_loss(STUDENT, OLD, NEW, right, temperature=2.0)
    assert out.wrong.item() == 0.0
    assert out.loss.item() == pytest.approx(kl_to_student(NEW, STUDENT, 2.0).mean().item(), rel=1e-6)


def test_gradient_flows_to_the_student_only_and_the_mask_is_detached():
    student = STUDENT.clone().requires_grad_(True)
    old, new = OLD.clone().requires_grad_(True), NEW.clone().requires_grad_(True)
    muscle_loss(student, old, new, LABELS).loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    # KL(teacher || student) does depend on the teacher; the module runs teachers under no_grad
    assert old.grad is not None


def test_shift_keeps_labelled_next_token_positions():
    logits = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    labels = torch.tensor([[-100, -100, 2, 1], [-100, 0, -100, -100]])
    picked, targets = shift_for_next_token(logits, labels)
    # row 0: positions 1 and 2 predict labels 2 and 1; row 1: position 0 predicts label 0
    assert targets.tolist() == [2, 1, 0]
    assert torch.equal(picked, torch.stack([logits[0, 1], logits[0, 2], logits[1, 0]]))


def test_mismatched_vocabularies_and_empty_batches_are_refused():
    with pytest.raises(ValueError, match="same tokenizer"):
        muscle_loss(STUDENT, torch.zeros(2, 3), NEW, LABELS)
    with pytest.raises(ValueError, match="no labelled positions"):
        muscle_loss(torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))


def test_mixed_objective():
    assert mixed_objective(torch.tensor(2.0), torch.tensor(4.0), 0.25).item() == pytest.approx(2.5)


def test_likelihood_mask_follows_the_old_models_confidence_in_the_label():
    # position 0: p_C(label 1) = 1/(1+e) < p_v1(1) = e^2/(1+e^2) -> from old (as with argmax);
    # position 1: student right with p_C(1) = e^3/(1+e^3) = 0.953 but old gives p_v1(1) = 1/(1+e^5) -> from new;
    # with OLD_SURE the old model is surer (p_v1(1) = e^4/(1+e^4) = 0.982) -> from old, though the student is right
    t = 1.0
    out = muscle_loss(STUDENT, OLD, NEW, LABELS, temperature=t, mask="likelihood")
    expected = (kl(softmax([0, 2]), softmax([1, 0])) + kl(softmax([0, 1]), softmax([0, 3]))) / 2
    assert out.loss.item() == pytest.approx(expected, rel=1e-5) and out.wrong.item() == 0.5
    old_sure = torch.tensor([[0.0, 2.0], [0.0, 4.0]])
    out = muscle_loss(STUDENT, old_sure, NEW, LABELS, temperature=t, mask="likelihood")
    assert out.wrong.item() == 1.0 and out.token_accuracy.item() == 0.5
    expected = (kl(softmax([0, 2]), softmax([1, 0])) + kl(softmax([0, 4]), softmax([0, 3]))) / 2
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)


def test_old_correct_mask_distils_from_old_only_where_the_old_model_is_right():
    # position 0: student wrong (argmax 0, label 1), old right (argmax 1) -> from old;
    # position 1: student right -> from new. With OLD_WRONG the old argmax at position 0 is 0, also
    # wrong -> from new there too, so the loss is the new-only distillation.
    t = 2.0
    out = muscle_loss(STUDENT, OLD, NEW, LABELS, temperature=t, mask="old_correct")
    expected = (kl(softmax([0, 2], t), softmax([1, 0], t)) + kl(softmax([0, 1], t), softmax([0, 3], t))) / 2
    assert out.loss.item() == pytest.approx(expected, rel=1e-5) and out.wrong.item() == 0.5
    old_wrong = torch.tensor([[3.0, 0.0], [5.0, 0.0]])
    out = muscle_loss(STUDENT, old_wrong, NEW, LABELS, temperature=t, mask="old_correct")
    expected = (kl(softmax([2, 0], t), softmax([1, 0], t)) + kl(softmax([0, 1], t), softmax([0, 3], t))) / 2
    assert out.wrong.item() == 0.0 and out.loss.item() == pytest.approx(expected, rel=1e-5)
