//! The auto-moderation rule set, positive and negative cases.

use krug_core::reviews::moderation::{self, Flag};

fn flags(text: &str) -> Vec<Flag> {
    moderation::check(text)
}

#[test]
fn phones_in_russian_spellings_are_flagged() {
    for text in [
        "Звоните 8 (999) 123-45-67, всё расскажу",
        "мой номер +7 999 123 45 67",
        "+79991234567",
        "пишите на 89991234567!",
        "тел. 999 123-45-67",
        "8-999-123-45-67",
    ] {
        assert!(flags(text).contains(&Flag::Phone), "{text}");
    }
    for text in [
        "Был тут 12.05.2026, заплатила 1 500 000 копеек",
        "Заказ №1234567890 пришёл вовремя",
        "карта 2000000000008",
        "оценка 5 из 5, приду ещё 10 раз",
    ] {
        assert!(!flags(text).contains(&Flag::Phone), "{text}");
    }
}

#[test]
fn links_with_and_without_a_scheme_are_flagged() {
    for text in [
        "смотрите https://example.com/price",
        "подробнее на www.salon.ru",
        "цены на salon-spb.ru/price, дешевле",
        "мой сайт: цветы.рф",
        "Instagram.com/salon",
    ] {
        assert!(flags(text).contains(&Flag::Link), "{text}");
    }
    for text in [
        "Всё отлично, т.е. просто супер и т.д.",
        "Оценка 4.5, г.Москва, ул.Ленина",
        "Пришла в 10.30, ушла довольной.",
    ] {
        assert!(!flags(text).contains(&Flag::Link), "{text}");
    }
}

#[test]
fn email_addresses_are_flagged() {
    assert!(flags("пишите anna.k+salon@mail.ru").contains(&Flag::Email));
    assert!(flags("почта: мастер@почта.рф").contains(&Flag::Email));
    assert!(!flags("встретимся @ салоне, было круто").contains(&Flag::Email));
    assert!(!flags("бл@ин, как хорошо").contains(&Flag::Email));
}

#[test]
fn profanity_is_flagged_also_when_disguised() {
    for text in [
        "Это пиздец какой-то",
        "мастер мудак",
        "ХУЙНЯ полная",
        // latin look-alikes
        "полная xyйня",
        "ну и cyкa",
        "пиздa",
        // repeated letters, ё, digits as letters
        "сууукааа",
        "заёбаный сервис",
        "3ае6али",
        "блядь!",
    ] {
        assert!(flags(text).contains(&Flag::Profanity), "{text}");
    }
}

#[test]
fn ordinary_words_with_a_bad_substring_are_not_flagged() {
    for text in [
        "Застрахуй машину, говорили они",
        "с корабля на бал",
        "не хочу оскорблять мастера",
        "употреблять кофе после процедуры",
        "лучший педикюр в городе",
        "пиджак из сукна, мудрый портной",
        "хлебать суп, тебя ждём",
        "колебаться не стоит",
        "Небо и земля",
    ] {
        assert!(!flags(text).contains(&Flag::Profanity), "{text}");
    }
}

#[test]
fn shouting_is_mostly_capitals() {
    assert!(flags("УЖАСНЫЙ СЕРВИС, НИКОГДА НЕ ПРИДУ").contains(&Flag::Shouting));
    assert!(!flags("Ужасный сервис, НИКОГДА не приду").contains(&Flag::Shouting));
    assert!(!flags("СУПЕР!").contains(&Flag::Shouting));
}

#[test]
fn a_clean_review_has_no_flags() {
    assert!(flags(
        "Прекрасный салон: мастер Анна сделала стрижку за 40 минут, цена 2 500 ₽. Рекомендую!"
    )
    .is_empty());
}
