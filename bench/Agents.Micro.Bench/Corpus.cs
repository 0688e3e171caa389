namespace Agents.Micro.Bench;

/// <summary>
/// Deterministic synthetic memories and queries in English, Chinese and both mixed. Template words give common terms
/// (high document frequency); names, places and a large set of invented words give rare ones, as real memories do.
/// </summary>
public sealed class Corpus(int seed)
{
    private readonly Random _rng = new(seed);

    private static readonly string[] Names = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack", "Kate", "Liam", "Mia", "Noah", "Olivia", "Peter", "Quinn", "Rose", "Sam", "Tina"];
    private static readonly string[] CnNames = ["小明", "小红", "王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵强", "黄丽", "周杰", "吴芳", "徐刚", "孙燕", "马超", "朱琳"];
    private static readonly string[] Drinks = ["coffee", "oolong tea", "green tea", "black tea", "espresso", "hot chocolate", "orange juice", "sparkling water", "matcha latte", "chai", "lemonade", "red wine"];
    private static readonly string[] CnDrinks = ["乌龙茶", "绿茶", "红茶", "咖啡", "豆浆", "普洱茶", "菊花茶", "拿铁", "果汁", "牛奶", "酸梅汤", "龙井茶"];
    private static readonly string[] Foods = ["sushi", "pizza", "dumplings", "ramen", "tacos", "salad", "curry", "pasta", "noodles", "steak", "tofu", "croissants"];
    private static readonly string[] CnFoods = ["小笼包", "火锅", "烤鸭", "饺子", "麻婆豆腐", "宫保鸡丁", "炒饭", "拉面", "粽子", "月饼", "煎饼", "馄饨"];
    private static readonly string[] Times = ["in the morning", "after lunch", "in the evening", "before bed", "on weekends", "during meetings"];
    private static readonly string[] CnTimes = ["早上", "午饭后", "晚上", "睡前", "周末", "开会时"];
    private static readonly string[] Cities = ["Lisbon", "Tokyo", "Berlin", "Toronto", "Nairobi", "Lima", "Oslo", "Seoul", "Austin", "Prague"];
    private static readonly string[] CnCities = ["北京", "上海", "广州", "深圳", "杭州", "成都", "西安", "南京", "武汉", "苏州"];
    private static readonly string[] Projects = ["Apollo", "Zephyr", "Orion", "Phoenix", "Atlas", "Nimbus", "Vega", "Titan", "Aurora", "Kestrel"];
    private static readonly string[] Allergens = ["peanuts", "shellfish", "pollen", "cats", "penicillin", "gluten", "lactose", "dust"];
    private static readonly string[] CnAllergens = ["花生", "海鲜", "花粉", "猫毛", "青霉素", "牛奶", "尘螨"];
    private static readonly string[] Weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] CnWeekdays = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    private static readonly string[] Languages = ["Python", "Rust", "Go", "TypeScript", "Kotlin", "Haskell", "Elixir", "Swift"];
    private static readonly string[] Hobbies = ["hiking", "painting", "chess", "cycling", "photography", "gardening", "climbing", "swimming"];
    private static readonly string[] CnHobbies = ["爬山", "画画", "下棋", "骑车", "摄影", "种花", "游泳", "书法"];
    private static readonly string[] Syllables = ["ka", "lo", "mi", "ran", "tu", "vex", "zor", "bel", "qui", "dra", "fen", "gor", "hal", "jun", "pex", "sil", "tor", "wyn", "xal", "yor"];

    private T Pick<T>(T[] items) => items[_rng.Next(items.Length)];

    /// <summary>An invented word from 4,000-8,000 possible ones: rare terms like product codes and nicknames.</summary>
    private string Rare() => Pick(Syllables) + Pick(Syllables) + Pick(Syllables)[..2] + _rng.Next(10);

    public string Memory()
    {
        var s = _rng.Next(14) switch
        {
            0 => $"The user likes to drink {Pick(Drinks)} {Pick(Times)}",
            1 => $"{Pick(Names)} prefers {Pick(Foods)} when working on project {Pick(Projects)}",
            2 => $"Remember that {Pick(Names)}'s birthday is on {Pick(Weekdays)} the {_rng.Next(1, 29)}th",
            3 => $"The user is allergic to {Pick(Allergens)} and avoids {Pick(Foods)}",
            4 => $"Meeting with {Pick(Names)} about {Pick(Projects)} is scheduled for {Pick(Weekdays)} at {_rng.Next(8, 19)}:00 in {Pick(Cities)}",
            5 => $"The user has been learning {Pick(Languages)} and enjoys {Pick(Hobbies)} in {Pick(Cities)}",
            6 => $"用户喜欢在{Pick(CnTimes)}喝{Pick(CnDrinks)}",
            7 => $"{Pick(CnNames)}的生日是{_rng.Next(1, 13)}月{_rng.Next(1, 29)}日",
            8 => $"用户对{Pick(CnAllergens)}过敏，不吃{Pick(CnFoods)}",
            9 => $"{Pick(CnWeekdays)}下午{_rng.Next(1, 6)}点和{Pick(CnNames)}在{Pick(CnCities)}讨论{Pick(Projects)}项目",
            10 => $"用户住在{Pick(CnCities)}，最喜欢的食物是{Pick(CnFoods)}，爱好是{Pick(CnHobbies)}",
            11 => $"用户正在学习{Pick(Languages)}，计划在{Pick(CnCities)}参加{Pick(Projects)}比赛",
            12 => $"{Pick(Names)} 和 {Pick(CnNames)} 一起去 {Pick(Cities)} 旅行, they loved the {Pick(Foods)}",
            _ => $"Note for {Pick(Projects)}: the code name is {Rare()} and the backup is {Rare()}",
        };
        // Most memories also carry one or two rare words (ticket numbers, nicknames, product names).
        if (_rng.Next(3) > 0) s += $" ({Rare()})";
        if (_rng.Next(4) == 0) s += $" #{Rare()}";
        return s + $" [{_rng.Next(1_000_000)}]"; // keeps near-identical sentences distinct
    }

    public string Query() => _rng.Next(12) switch
    {
        0 => Pick(Drinks),
        1 => $"what does the user like to drink {Pick(Times)}",
        2 => $"{Pick(Names)} birthday",
        3 => $"meeting about {Pick(Projects)} in {Pick(Cities)}",
        4 => Pick(CnDrinks),
        5 => $"用户喜欢喝什么{Pick(["茶", "咖啡", "饮料"])}",
        6 => $"{Pick(CnNames)}的生日",
        7 => $"{Pick(CnCities)} {Pick(CnFoods)}",
        8 => $"allergic to {Pick(Allergens)}",
        9 => Rare(),
        10 => $"learning {Pick(Languages)} {Pick(Hobbies)}",
        _ => $"用户对什么过敏 {Pick(CnAllergens)}",
    };
}
